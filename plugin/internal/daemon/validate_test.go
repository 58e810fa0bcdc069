package daemon

import (
	"runtime/debug"
	"testing"
)

// TestHasValidateFlag: a dockerd whose build info names a version before
// 22 (Debian's 20.10, as `go version -m` prints it) is not started to be
// asked; a newer one, or one that does not say (a -trimpath build), is.
func TestHasValidateFlag(t *testing.T) {
	const debian2010 = "path\tgithub.com/docker/docker/cmd/dockerd\n" +
		"build\t-ldflags=\" \\t\\t-w \\t-X \\\"github.com/docker/docker/dockerversion.Version=20.10.24+dfsg1\\\" \\t-X \\\"github.com/docker/docker/dockerversion.GitCommit=5d6db84\\\" \"\n" +
		"build\tCGO_ENABLED=1\n"
	for _, c := range []struct {
		name, text, version string
		asked               bool
	}{
		{"Debian 20.10", debian2010, "20.10.24+dfsg1", false},
		{"23.0, -X without quotes", "path\tgithub.com/docker/docker/cmd/dockerd\nbuild\t-ldflags=\"-X github.com/docker/docker/dockerversion.Version=23.0.6 -w\"\n", "23.0.6", true},
		{"-trimpath build (26.1)", "path\tgithub.com/docker/docker/cmd/dockerd\nbuild\t-trimpath=true\nbuild\tCGO_ENABLED=1\n", "", true},
		{"other ldflags", "path\tgithub.com/docker/docker/cmd/dockerd\nbuild\t-ldflags=-w\n", "", true},
	} {
		info, err := debug.ParseBuildInfo(c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := builtVersion(info); got != c.version {
			t.Errorf("%s: version %q, want %q", c.name, got, c.version)
		}
		if got := hasValidateFlag(info); got != c.asked {
			t.Errorf("%s: asked %v, want %v", c.name, got, c.asked)
		}
	}
}
