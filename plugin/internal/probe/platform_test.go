package probe

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// otherArch is a Linux architecture that is not this machine's.
func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

func TestHelperForOwnPlatformIsSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the tests run on Linux, not %s", runtime.GOOS)
	}
	got, err := HelperFor("/x/docker-userns", Own())
	if err != nil || got != "/x/docker-userns" {
		t.Fatalf("HelperFor(own) = %q, %v; want the plugin itself", got, err)
	}
}

func TestHelperForAnotherArchTakesTheReleaseBinaryBesideThePlugin(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "docker-userns")
	foreign := Platform{OS: "linux", Arch: otherArch()}
	want := filepath.Join(dir, HelpersDir, "docker-userns-linux-"+otherArch())

	_, err := HelperFor(self, foreign)
	var noHelper *NoHelperError
	if !errors.As(err, &noHelper) {
		t.Fatalf("without a helper: err = %v, want a NoHelperError", err)
	}
	for _, part := range []string{"the daemon runs linux/" + otherArch(), "this docker-userns is for " + Own().String(), want} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("refusal %q does not say %q", err, part)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("refusal is more than one line: %q", err)
	}

	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := HelperFor(self, foreign); err != nil || got != want {
		t.Fatalf("with a helper: HelperFor = %q, %v; want %q", got, err, want)
	}
}

func TestHelperForRefusesANonLinuxDaemon(t *testing.T) {
	_, err := HelperFor("/x/docker-userns", Platform{OS: "windows", Arch: "amd64"})
	if err == nil || err.Error() != "the daemon runs windows/amd64: docker-userns works with Linux daemons only" {
		t.Fatalf("err = %v", err)
	}
}

// platformDaemon answers /version with its platform; any other call fails
// the test through the nil APIClient.
type platformDaemon struct {
	client.APIClient
	p Platform
}

func (d platformDaemon) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: d.p.OS, Arch: d.p.Arch}, nil
}

// TestBuildRefusesADaemonOfAnotherArchBeforeImporting: a helper image of
// the client's own binary would not run there.
func TestBuildRefusesADaemonOfAnotherArchBeforeImporting(t *testing.T) {
	api := platformDaemon{p: Platform{OS: "linux", Arch: otherArch()}}
	_, err := Build(context.Background(), api, filepath.Join(t.TempDir(), "docker-userns"))
	var noHelper *NoHelperError
	if !errors.As(err, &noHelper) || noHelper.Daemon != api.p {
		t.Fatalf("Build = %v, want a NoHelperError for %s", err, api.p)
	}
}
