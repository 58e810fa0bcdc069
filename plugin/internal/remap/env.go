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

// lastDaemonError returns the last line of the daemon's log file that says
// why it failed to start, or "" when there is no such file or line.
func lastDaemonError(root hostfs.Root, logPath string) string {
	if !strings.HasPrefix(logPath, "/") {
		return ""
	}
	f, err := os.Open(root.Path(logPath))
	if err != nil {
		return ""
	}
	defer f.Close()
	// The reason is among the last lines; 16 KiB holds them.
	const tail = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		_, _ = f.Seek(-tail, io.SeekEnd)
	}
	data, _ := io.ReadAll(f)
	lines := strings.Split(string(data), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if line := strings.TrimSpace(lines[i]); isStartFailure(line) {
			return line
		}
	}
	return ""
}

// isStartFailure recognises the line dockerd prints when it gives up:
// a fatal log entry, or its final error printed plainly to stderr (not in
// the time="..." level=... form of its other lines).
func isStartFailure(line string) bool {
	switch {
	case line == "":
		return false
	case strings.Contains(line, "level=fatal"), strings.Contains(line, "failed to start daemon"):
		return true
	case strings.HasPrefix(line, "time="), strings.HasPrefix(line, "INFO"), strings.HasPrefix(line, "WARN"):
		return false
	}
	// A supervisor's own note about the exit is not the reason.
	return !strings.Contains(line, "exited") && !strings.Contains(line, "restarting")
}
