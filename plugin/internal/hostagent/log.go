package hostagent

import (
	"fmt"
	"os"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// LogPath is the host path of the agent's log: its stdout and stderr go
// nowhere once it runs on its own, so what it did is written here, and on a
// host root to syslog (the journal: `journalctl -t docker-userns-agent`),
// which still takes a line when /var is full.
const LogPath = "/var/log/docker-userns-agent.log"

// SyslogTag is the agent's name in syslog and the journal.
const SyslogTag = "docker-userns-agent"

// logf writes one line to the agent's log, best effort.
func logf(root hostfs.Root, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if target, err := root.Resolve(LogPath); err == nil {
		f, err := os.OpenFile(root.Path(target), os.O_WRONLY|os.O_APPEND|os.O_CREATE|hostfs.NoFollow, 0o640)
		if err == nil {
			fmt.Fprintf(f, "%s pid %d: %s\n", time.Now().UTC().Format(time.RFC3339), os.Getpid(), msg)
			f.Close()
		}
	}
	if root.IsHost() {
		toSyslog(msg)
	}
}
