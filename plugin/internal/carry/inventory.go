package carry

import (
	"context"
	"fmt"
	"slices"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// Inventory is what a daemon shows through its API: its data root, the
// ids of its images (as `docker image ls` lists them), its containers
// (`docker ps -a`) and the names of its volumes, the plugin's own probe
// and helper objects left out.
type Inventory struct {
	root string
	// store is the daemon's image store (daemon.State.ImageStore); tags
	// the tags of each image id.
	store      string
	images     map[string]bool
	tags       map[string][]string
	containers int
	volumes    map[string]bool
}

// TakeInventory lists what the daemon shows; nil when it does not answer
// (what is said from it is a courtesy, never a reason to fail).
func TakeInventory(ctx context.Context, api API) *Inventory {
	state, err := daemon.Inspect(ctx, api)
	if err != nil {
		return nil
	}
	images, err := api.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil
	}
	containers, err := api.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil
	}
	volumes, err := api.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		return nil
	}
	inv := &Inventory{root: state.DataRoot, store: state.ImageStore, images: map[string]bool{}, tags: map[string][]string{}, volumes: map[string]bool{}}
	for _, img := range images.Items {
		if !sweep.Ours(img.Labels) {
			inv.images[img.ID] = true
			inv.tags[img.ID] = slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return t == untagged })
		}
	}
	for _, c := range containers.Items {
		if !sweep.Ours(c.Labels) {
			inv.containers++
		}
	}
	for _, v := range volumes.Items {
		inv.volumes[v.Name] = true
	}
	return inv
}

// Content counts the inventory.
func (inv *Inventory) Content() RootContent {
	return RootContent{Path: inv.root, Images: len(inv.images), Containers: inv.containers, Volumes: len(inv.volumes)}
}

// Reappeared is what turning remapping off shows again: the unremapped
// daemon uses <data-root> itself again (moby daemon/daemon_unix.go
// setupDaemonRoot, v20.10.24, v26.1.5, v28.5.2: config.Root is the data
// root unless RemappedRoot is set), with what it held before remapping.
type Reappeared struct {
	// Visible is the data root in use again and what it holds, counted
	// before anything was carried into it.
	Visible RootContent `json:"visible"`
	// MadeWhileRemapped is what the remapped data root holds that the
	// root in use does not, once carried: images (by id) and volumes (by
	// name) made there and not carried back, and its containers (never
	// carried). Nil when there is none: nothing made while remapped is
	// out of view.
	MadeWhileRemapped *RootContent `json:"madeWhileRemapped,omitempty"`
}

// Reappear compares the remapped daemon's inventory (before the switch)
// with the unremapped one's, before anything was carried into it
// (visible) and after (after); nil when the data root did not change.
func Reappear(remapped, visible, after *Inventory) *Reappeared {
	if remapped == nil || visible == nil || after == nil || remapped.root == visible.root {
		return nil
	}
	r := &Reappeared{Visible: visible.Content()}
	left := RootContent{Path: remapped.root, Containers: remapped.containers}
	for id := range remapped.images {
		if !after.images[id] && !after.namesAll(remapped, id) {
			left.Images++
		}
	}
	for name := range remapped.volumes {
		if !after.volumes[name] {
			left.Volumes++
		}
	}
	if !left.Empty() {
		r.MadeWhileRemapped = &left
	}
	return r
}

// namesAll is true when inv, on another image store than from's, has every
// tag of from's image id: ids cannot be compared across stores (a
// graphdriver lists an image by its config's digest, the containerd store
// by its manifest's or index's), so the same names count as the same
// image. An image made again under the same tag while remapped is then
// not told apart.
func (inv *Inventory) namesAll(from *Inventory, id string) bool {
	tags := from.tags[id]
	if inv.store == from.store || len(tags) == 0 {
		return false
	}
	have := map[string]bool{}
	for _, ts := range inv.tags {
		for _, t := range ts {
			have[t] = true
		}
	}
	for _, t := range tags {
		if !have[t] {
			return false
		}
	}
	return true
}

// Counted words the counts of c: "2 images, 1 container and 0 volumes".
func (c RootContent) Counted() string {
	images := plural(c.Images, "image")
	switch {
	case c.ContainerdStore && c.Images == 0:
		images = "images in its containerd store (not counted)"
	case c.ContainerdStore:
		images += " (more in its containerd store, not counted)"
	}
	return fmt.Sprintf("%s, %s and %s", images, plural(c.Containers, "container"), plural(c.Volumes, "volume"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
