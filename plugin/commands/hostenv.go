package commands

import (
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// restartOptions are the flags of the commands that restart the daemon.
type restartOptions struct {
	restart string
	timeout time.Duration
	pidfile string
}

// hostEnv opens the host root and gathers what a command acting on the
// host needs.
func hostEnv(dockerCLI command.Cli, global *globalOptions, restart restartOptions) (remap.Env, error) {
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
	return remap.Env{
		Root:      root,
		API:       dockerCLI.Client(),
		Binary:    binary,
		Restarter: daemon.Restarter{Strategy: strategy, Root: root.Dir(), Pidfile: restart.pidfile},
		Timeout:   restart.timeout,
		Progress:  dockerCLI.Err(),
	}, nil
}
