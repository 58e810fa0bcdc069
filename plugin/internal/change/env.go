package change

import (
	"io"
	"os"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// hostEnv opens the host root and gathers what a change of the host's
// files needs: here, or (ArmOnly) in a helper container.
func hostEnv(t target.Target, opts Options, progress io.Writer) (remap.Env, error) {
	root, err := helper.OpenRoot(opts.Hosts.Root)
	if err != nil {
		return remap.Env{}, err
	}
	binary, err := probe.SelfBinary()
	if err != nil {
		return remap.Env{}, err
	}
	env := remap.Env{
		Root:           root,
		API:            helper.DaemonFor(root, t.CLI.Client()),
		Binary:         binary,
		Restarter:      daemon.Restarter{Strategy: opts.Restart.Strategy, Root: root, Pidfile: opts.Restart.Pidfile},
		Timeout:        opts.Restart.Timeout,
		ConfirmTimeout: opts.Restart.ConfirmTimeout,
		Socket:         t.SocketPath(opts.DaemonSocket),
		Progress:       progress,
	}
	if opts.ArmOnly {
		env.ArmOnly, env.InHelper = true, true
		env.Socket = opts.DaemonSocket
		env.Helper = helper.Self(os.Getenv)
	}
	return env, nil
}
