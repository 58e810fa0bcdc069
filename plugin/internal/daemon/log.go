package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LogPath says where the daemon's log is: its stderr read from /proc before
// a restart, or the journal under systemd; the caller names it when things
// fail, and the host agent watches it for the reason a daemon cannot start.
func (r Restarter) LogPath() string {
	if r.Resolve() == StrategySystemd {
		return JournalLog
	}
	pid, err := r.DaemonPID()
	if err != nil {
		return "the daemon's log"
	}
	target, err := os.Readlink(r.Root.Path(fmt.Sprintf("/proc/%d/fd/2", pid)))
	if err != nil || !strings.HasPrefix(target, "/") {
		return "the daemon's log"
	}
	return target
}

// LogSize is the current size of the daemon's log file (0 when unknown), so
// that StartFailureSince reads only what a restart added.
func LogSize(rootDir, logPath string) int64 {
	if st, err := os.Stat(filepath.Join(rootDir, logPath)); err == nil && strings.HasPrefix(logPath, "/") {
		return st.Size()
	}
	return 0
}

// LastStartFailure returns the last line of the daemon's log file that says
// why it failed to start, or "" when there is no such file or line.
func LastStartFailure(rootDir, logPath string) string {
	return StartFailureSince(rootDir, logPath, -1)
}

// StartFailureSince is LastStartFailure over the part of the log written
// after offset (offset < 0: the last 16 KiB, where the reason is).
func StartFailureSince(rootDir, logPath string, offset int64) string {
	if !strings.HasPrefix(logPath, "/") {
		return ""
	}
	f, err := os.Open(filepath.Join(rootDir, logPath))
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 16 << 10
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	midLine := false
	if offset < 0 || st.Size()-offset > tail {
		offset = max(st.Size()-tail, 0)
		midLine = offset > 0
	}
	_, _ = f.Seek(offset, io.SeekStart)
	data, _ := io.ReadAll(f)
	if midLine {
		// The tail starts inside a line (a long one: a stack dump dockerd
		// logs on one line); its rest is no line of its own.
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
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
	case givesUp(line):
		return true
	case strings.HasPrefix(line, "time="), strings.HasPrefix(line, "INFO"), strings.HasPrefix(line, "WARN"):
		return false
	}
	// A supervisor's own note about the exit is not the reason.
	return !strings.Contains(line, "exited") && !strings.Contains(line, "restarting")
}

// givesUp is a line in which dockerd says it gives up: a fatal log entry
// or its last words ("failed to start daemon").
func givesUp(line string) bool {
	return strings.Contains(line, "level=fatal") || strings.Contains(line, "failed to start daemon")
}

// LogWatch reads what the daemon's log says after the point it was opened
// at: why a daemon cannot start, as soon as it says so.
type LogWatch interface {
	StartFailure(ctx context.Context) string
}

// WatchLog opens the log at logPath (as LogPath named it) at its end: the
// journal from a cursor taken now, a log file from its current size. A log
// that cannot be read watches nothing: the wait is then only bounded by
// its timeout.
func WatchLog(ctx context.Context, rootDir, logPath string) LogWatch {
	if logPath == JournalLog {
		if j, err := OpenJournal(ctx, DockerUnit); err == nil {
			return j
		}
		return noLog{}
	}
	return fileLog{rootDir: rootDir, path: logPath, offset: LogSize(rootDir, logPath)}
}

type fileLog struct {
	rootDir, path string
	offset        int64
}

func (f fileLog) StartFailure(context.Context) string {
	return StartFailureSince(f.rootDir, f.path, f.offset)
}

type noLog struct{}

func (noLog) StartFailure(context.Context) string { return "" }
