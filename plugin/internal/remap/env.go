package remap

import (
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
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
	// ConfirmTimeout bounds the host agent's wait for a confirmation once
	// the restarted daemon answers (0: DefaultConfirmTimeout).
	ConfirmTimeout time.Duration
	// Socket is the daemon's unix socket on the host, where the host agent
	// sees it answer ("": DefaultSocket).
	Socket string
	// Progress receives one line per step (stderr in the CLI).
	Progress io.Writer
	// steps are hooks at the steps of a change (nil: the build's,
	// buildSteps); unit tests give their own.
	stepHooks *stepHooks

	// Control reaches the host agent; nil means this process is on the
	// host (Root) itself.
	Control Control
	// InHelper: this process runs in a helper container that mounts the
	// host at Root; the agent must join the host's namespaces.
	InHelper bool
	// Helper is the helper's own container and image, which the agent
	// waits to see removed before it restarts the daemon.
	Helper hostagent.HelperObjects
	// ArmOnly stops enable and disable once the agent is armed: the client
	// that started the helper waits, verifies and confirms.
	ArmOnly bool
}

// DefaultSocket is where dockerd listens unless told otherwise.
const DefaultSocket = "/var/run/docker.sock"

// DefaultConfirmTimeout leaves the client time to verify with probes.
const DefaultConfirmTimeout = 60 * time.Second

func (e Env) socket() string {
	if e.Socket == "" {
		return DefaultSocket
	}
	return e.Socket
}

func (e Env) confirmTimeout() time.Duration {
	if e.ConfirmTimeout <= 0 {
		return DefaultConfirmTimeout
	}
	return e.ConfirmTimeout
}

// forChecks is env for the checks before a change: they share one answer
// of the daemon's info. What follows the restart uses env, which asks
// afresh.
func (e Env) forChecks() Env {
	e.API = daemon.OneInfo(e.API)
	return e
}

// Client is the client's side of env: what Finish needs.
func (e Env) Client() ClientEnv {
	control := e.Control
	if control == nil {
		control = LocalControl{Root: e.Root}
	}
	return ClientEnv{API: e.API, Binary: e.Binary, Timeout: e.Timeout, Progress: e.Progress, Control: control}
}

func (e Env) say(format string, args ...any) {
	if e.Progress != nil {
		fmt.Fprintf(e.Progress, format+"\n", args...)
	}
}
