package commands

import (
	"fmt"
	"io"
	"os"
	"path"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// hostEnv opens the host root and gathers what a command acting on the
// host's files needs: here, or (armOnly) in a helper container.
func hostEnv(t target, rootDir string, restart restartOptions, host hostOptions, progress io.Writer) (remap.Env, error) {
	root, err := openRoot(rootDir)
	if err != nil {
		return remap.Env{}, err
	}
	strategy, err := daemon.ParseStrategy(restart.restart)
	if err != nil {
		return remap.Env{}, err
	}
	if root.Tree() && strategy != daemon.StrategyAuto && strategy != daemon.StrategyNone {
		return remap.Env{}, fmt.Errorf("--restart %s with --root %s: the tree's daemon is not this machine's, and nothing outside the tree is signalled or restarted: pass --restart none and restart that daemon where the tree runs", strategy, rootDir)
	}
	binary, err := probe.SelfBinary()
	if err != nil {
		return remap.Env{}, err
	}
	env := remap.Env{
		Root:           root,
		API:            treeOr(root, t.cli.Client()),
		Binary:         binary,
		Restarter:      daemon.Restarter{Strategy: strategy, Root: root, Pidfile: restart.pidfile},
		Timeout:        restart.timeout,
		ConfirmTimeout: restart.confirmTimeout,
		Socket:         t.socketPath(host.daemonSocket),
		Progress:       progress,
	}
	if host.armOnly {
		env.ArmOnly, env.InHelper = true, true
		env.Socket = host.daemonSocket
		env.Helper = helper.Self(os.Getenv)
	}
	return env, nil
}

// openRoot opens --root DIR: "/" and a helper container's /host (the
// helper's marker in its environment says so) are live hosts; any other
// directory is a tree (hostfs.OpenTree), of which nothing is run,
// signalled or restarted, and whose daemon is not asked.
func openRoot(dir string) (hostfs.Root, error) {
	if isTree(dir) {
		return hostfs.OpenTree(dir)
	}
	return hostfs.Open(dir)
}

// isTree: --root dir names a tree, not a live host (see openRoot).
func isTree(dir string) bool {
	return dir != "/" && !(helper.Inside(os.Getenv) && path.Clean(dir) == helper.HostMount)
}

// errTreeDaemon refuses what needs the daemon under a tree.
func errTreeDaemon(flag, root string) error {
	return fmt.Errorf("%s with --root %s: the tree's daemon is not asked (the one this client reaches is not the tree's): leave it out, and run it on the machine the tree becomes", flag, root)
}

// treeOr is api, or none for a tree: the daemon this client reaches is not
// the tree's (daemon.Inspect says ErrNotAsked).
func treeOr(root hostfs.Root, api client.APIClient) client.APIClient {
	if root.Tree() {
		return nil
	}
	return api
}
