// Package steptrace stamps the steps of a change (the restart, the
// daemon's first answer, the verification, the confirmation) into the file
// that DOCKER_USERNS_TRACE names, one line each: the time in nanoseconds
// since the epoch, the process id and the step. The client and the host
// agent (a detached process that inherits the client's environment) write
// to the same file, so that one run's lines give where its time went
// (`make bench` reports them). Without the variable nothing is written.
package steptrace

import (
	"fmt"
	"os"
	"time"
)

// Env names the file the steps are appended to.
const Env = "DOCKER_USERNS_TRACE"

// Mark appends step with the time now, best effort: a trace that cannot
// be written changes nothing of what is traced.
func Mark(step string) {
	path := os.Getenv(Env)
	if path == "" {
		return
	}
	line := fmt.Sprintf("%d %d %s\n", time.Now().UnixNano(), os.Getpid(), step)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line) // one write: lines of two processes do not interleave
}

// The steps, in the order one enable or disable passes them.
const (
	AgentRestart   = "agent: restart"          // the host agent begins the restart
	AgentRestarted = "agent: restart returned" // the old dockerd is gone (signal), or the systemd job ended
	AgentAnswered  = "agent: daemon answers"   // the new daemon answers
	AgentWaiting   = "agent: waiting"          // the record says so: the client may verify
	VerifyBegin    = "client: verify"          // the client starts the verification
	VerifyImported = "client: probe imported"  // the probe image is in the new daemon
	VerifyDone     = "client: verified"        // the probe container's maps are read, or the daemon's answer failed
	Confirmed      = "client: confirmed"       // the agent's record says kept, the probe removed
)
