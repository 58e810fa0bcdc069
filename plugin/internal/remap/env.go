package remap

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Env is where a command acts: the host files, the daemon and how to
// restart it, and where progress goes.
type Env struct {
	Root hostfs.Root
	API  client.APIClient
	// Binary is the static plugin binary probe images are built from.
	Binary    string
	Restarter daemon.Restarter
	// Timeout bounds the wait for the daemon after a restart.
	Timeout time.Duration
	// Progress receives one line per step (stderr in the CLI).
	Progress io.Writer
}

func (e Env) say(format string, args ...any) {
	if e.Progress != nil {
		fmt.Fprintf(e.Progress, format+"\n", args...)
	}
}

// daemonLogHint says where the daemon's log is, read from the running
// daemon's stderr before a restart; the caller names it when things fail.
func (e Env) daemonLogHint() string {
	if e.Restarter.Resolve() == daemon.StrategySystemd {
		return "journalctl -u docker.service"
	}
	pid, err := e.Restarter.DaemonPID()
	if err != nil {
		return "the daemon's log"
	}
	target, err := os.Readlink(filepath.Join(e.Root.Dir(), fmt.Sprintf("/proc/%d/fd/2", pid)))
	if err != nil || !strings.HasPrefix(target, "/") {
		return "the daemon's log"
	}
	return target
}
