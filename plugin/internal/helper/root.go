package helper

import (
	"os"
	"path"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// OpenRoot opens --root DIR: "/" and a helper container's /host (the
// helper's marker in its environment says so) are live hosts; any other
// directory is a tree (hostfs.OpenTree), of which nothing is run,
// signalled or restarted, and whose daemon is not asked.
func OpenRoot(dir string) (hostfs.Root, error) {
	if IsTree(dir) {
		return hostfs.OpenTree(dir)
	}
	return hostfs.Open(dir)
}

// IsTree tells whether --root dir names a tree, not a live host (see
// OpenRoot).
func IsTree(dir string) bool {
	return dir != "/" && !(Inside(os.Getenv) && path.Clean(dir) == HostMount)
}

// DaemonFor is api, or none for a tree: the daemon this client reaches is
// not the tree's (daemon.Inspect says ErrNotAsked).
func DaemonFor(root hostfs.Root, api client.APIClient) client.APIClient {
	if root.Tree() {
		return nil
	}
	return api
}
