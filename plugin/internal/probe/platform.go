package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/moby/moby/client"
)

// Platform is an operating system and architecture in Go's names
// (GOOS/GOARCH), as a daemon reports its own.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Own is the platform of this binary.
func Own() Platform { return Platform{OS: runtime.GOOS, Arch: runtime.GOARCH} }

// DaemonPlatform is the platform of the daemon's containers: GET /version,
// whose Os and Arch are the daemon's runtime.GOOS and runtime.GOARCH (moby
// daemon/info.go SystemVersion, v20.10.24 and v28.5.2), the same facts as
// docker info's OSType and Architecture (uname -m there) in Go's names.
func DaemonPlatform(ctx context.Context, api client.APIClient) (Platform, error) {
	v, err := api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return Platform{}, fmt.Errorf("ask the daemon its platform: %w", err)
	}
	if v.Os == "" || v.Arch == "" {
		return Platform{}, errors.New("ask the daemon its platform: it did not say")
	}
	return Platform{OS: v.Os, Arch: v.Arch}, nil
}

// HelpersDir is the folder, beside the plugin binary, that holds the
// helper binaries of the Linux platforms other than the plugin's own
// (docker-userns-linux-ARCH from the release), for daemons of those.
const HelpersDir = "docker-userns-helpers"

// NoHelperError is a daemon whose platform this plugin has no helper for.
type NoHelperError struct {
	Daemon Platform
	// Looked is where a helper binary for it was looked for.
	Looked string
}

func (e *NoHelperError) Error() string {
	if e.Daemon.OS != "linux" {
		return fmt.Sprintf("the daemon runs %s: docker-userns works with Linux daemons only", e.Daemon)
	}
	return fmt.Sprintf("the daemon runs %s and this docker-userns is for %s: put docker-userns-%s-%s from the release at %s (install.sh --helpers does)",
		e.Daemon, Own(), e.Daemon.OS, e.Daemon.Arch, e.Looked)
}

// HelperFor is the plugin binary a helper container on a daemon of
// platform p runs: self when that is the plugin's own platform, else the
// release's binary for p in HelpersDir beside self.
func HelperFor(self string, p Platform) (string, error) {
	if p == Own() && p.OS == "linux" {
		return self, nil
	}
	if real, err := filepath.EvalSymlinks(self); err == nil {
		self = real
	}
	path := filepath.Join(filepath.Dir(self), HelpersDir, "docker-userns-"+p.OS+"-"+p.Arch)
	if p.OS != "linux" {
		return "", &NoHelperError{Daemon: p, Looked: path}
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return "", &NoHelperError{Daemon: p, Looked: path}
	}
	return path, nil
}

// smallProgramName is the embedded probe program for a Linux architecture.
func smallProgramName(arch string) string {
	return SmallProgram + "-linux-" + strings.ToLower(arch)
}
