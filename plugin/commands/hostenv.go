package commands

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// restartOptions are the flags of the commands that restart the daemon.
type restartOptions struct {
	restart        string
	timeout        time.Duration
	confirmTimeout time.Duration
	pidfile        string
}

// check refuses durations that cannot bound a wait (0 used to mean the
// default without a word, and a negative one was taken).
func (o restartOptions) check() error {
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be above 0", o.timeout)
	}
	if o.confirmTimeout <= 0 {
		return fmt.Errorf("--confirm-timeout %s: must be above 0", o.confirmTimeout)
	}
	return nil
}

// hostEnv opens the host root and gathers what a command acting on the
// host's files needs: here, or (armOnly) in a helper container.
func hostEnv(t target, global *globalOptions, restart restartOptions, host hostOptions, progress io.Writer) (remap.Env, error) {
	root, err := hostfs.Open(global.root)
	if err != nil {
		return remap.Env{}, err
	}
	strategy, err := daemon.ParseStrategy(restart.restart)
	if err != nil {
		return remap.Env{}, err
	}
	binary, err := probe.SelfBinary()
	if err != nil {
		return remap.Env{}, err
	}
	env := remap.Env{
		Root:           root,
		API:            t.cli.Client(),
		Binary:         binary,
		Restarter:      daemon.Restarter{Strategy: strategy, Root: root.Dir(), Pidfile: restart.pidfile},
		Timeout:        restart.timeout,
		ConfirmTimeout: restart.confirmTimeout,
		Socket:         t.socketPath(host.daemonSocket),
		Progress:       progress,
	}
	if host.armOnly {
		env.ArmOnly, env.InHost = true, true
		env.Socket = host.daemonSocket
		env.Leftovers = helper.Leftovers(os.Getenv)
	}
	return env, nil
}
