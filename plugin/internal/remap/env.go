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
	return daemonErrorSince(root, logPath, -1)
}

// logSize is the current size of the daemon's log file (0 when unknown), so
// that daemonErrorSince reads only what a restart added.
func logSize(root hostfs.Root, logPath string) int64 {
	if st, err := os.Stat(root.Path(logPath)); err == nil && strings.HasPrefix(logPath, "/") {
		return st.Size()
	}
	return 0
}

// daemonErrorSince is lastDaemonError over the part of the log written
// after offset (offset < 0: the last 16 KiB, where the reason is).
func daemonErrorSince(root hostfs.Root, logPath string, offset int64) string {
	if !strings.HasPrefix(logPath, "/") {
		return ""
	}
	f, err := os.Open(root.Path(logPath))
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 16 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	if offset < 0 || st.Size()-offset > tail {
		offset = max(st.Size()-tail, 0)
	}
	_, _ = f.Seek(offset, io.SeekStart)
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
