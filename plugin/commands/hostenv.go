package commands

import (
	"io"
	"os"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// hostEnv opens the host root and gathers what a command acting on the
// host's files needs: here, or (armOnly) in a helper container.
func hostEnv(t target, rootDir string, restart restartOptions, host hostOptions, progress io.Writer) (remap.Env, error) {
	root, err := hostfs.Open(rootDir)
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
		env.ArmOnly, env.InHelper = true, true
		env.Socket = host.daemonSocket
		env.Leftovers = helper.Leftovers(os.Getenv)
	}
	return env, nil
}
