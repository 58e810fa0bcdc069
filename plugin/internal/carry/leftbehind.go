package carry

import (
	"fmt"
	"path"
	"slices"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// RootContent is what a data root the daemon does not use holds, counted
// from its directories (read only; no sizes: walking a data root is slow).
type RootContent struct {
	Path       string `json:"path"`
	Images     int    `json:"images"`
	Containers int    `json:"containers"`
	Volumes    int    `json:"volumes"`
	// ContainerdStore is true when the root's containerd image store (the
	// default of Docker 29) holds content. Images counts only a
	// graphdriver's: the containerd store's images are records in its
	// metadata database, not directories, so they are said, not counted.
	ContainerdStore bool `json:"containerdStore,omitempty"`
}

// Empty is true when the root holds no image, container or volume.
func (c RootContent) Empty() bool { return c.Images+c.Containers+c.Volumes == 0 && !c.ContainerdStore }

// containerdContent is where dockerd's own containerd keeps the blobs of
// a data root's containerd image store (the daemon runs it with its root
// in <data-root>/containerd/daemon; seen on 29.8.1: the unremapped root
// holds the images' blobs there while a remapped daemon's is empty).
const containerdContent = "containerd/daemon/io.containerd.content.v1.content/blobs/sha256/*"

// String is the root and its counts: "/var/lib/docker: 1 image, 3
// containers and 0 volumes".
func (c RootContent) String() string {
	return c.Path + ": " + c.Counted()
}

// LeftBehind lists the data roots beside dataRoot, the one in use, that
// hold anything: the unremapped root when remapped (its parent), and the
// <uid>.<gid> roots of other maps. Roots this process may not read (a
// status as a member of group docker) are not listed.
func LeftBehind(root hostfs.Root, dataRoot string, remapped bool) []RootContent {
	base := dataRoot
	if remapped {
		base = path.Dir(dataRoot)
	}
	candidates := glob(root, path.Join(base, "[0-9]*.[0-9]*"))
	if remapped {
		candidates = append([]string{base}, candidates...)
	}
	var out []RootContent
	for _, dir := range candidates {
		if dir == dataRoot || !isRoot(dir, base) {
			continue
		}
		c := RootContent{Path: dir, Containers: len(glob(root, path.Join(dir, "containers/*")))}
		// One image store per graph driver (image/overlay2, image/vfs).
		for _, store := range glob(root, path.Join(dir, "image/*")) {
			c.Images += len(glob(root, path.Join(store, "imagedb/content/sha256/*")))
		}
		c.ContainerdStore = len(glob(root, path.Join(dir, containerdContent))) > 0
		for _, v := range glob(root, path.Join(dir, "volumes/*")) {
			if root.Exists(path.Join(v, "_data")) {
				c.Volumes++
			}
		}
		if !c.Empty() {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b RootContent) int { return len(a.Path) - len(b.Path) })
	return out
}

// isRoot is true for base itself and its <uid>.<gid> children.
func isRoot(dir, base string) bool {
	if dir == base {
		return true
	}
	var uid, gid uint32
	n, err := fmt.Sscanf(path.Base(dir), "%d.%d", &uid, &gid)
	return err == nil && n == 2 && path.Base(dir) == fmt.Sprintf("%d.%d", uid, gid)
}

// glob is root.Glob with nothing for what cannot be read.
func glob(root hostfs.Root, pattern string) []string {
	m, _ := root.Glob(pattern)
	return m
}
