package carry

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// listingDaemon answers the four lists of an inventory (a nil API for the
// rest: asked anything else, the test panics).
type listingDaemon struct {
	client.APIClient
	root       string
	images     []image.Summary
	containers []container.Summary
	volumes    []volume.Volume
	down       bool
}

func (d *listingDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	if d.down {
		return client.SystemInfoResult{}, errors.New("connection refused")
	}
	return client.SystemInfoResult{Info: system.Info{DockerRootDir: d.root}}, nil
}

func (d *listingDaemon) ImageList(context.Context, client.ImageListOptions) (client.ImageListResult, error) {
	return client.ImageListResult{Items: d.images}, nil
}

func (d *listingDaemon) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	return client.ContainerListResult{Items: d.containers}, nil
}

func (d *listingDaemon) VolumeList(context.Context, client.VolumeListOptions) (client.VolumeListResult, error) {
	return client.VolumeListResult{Items: d.volumes}, nil
}

var ours = map[string]string{sweep.LabelRole: "helper"}

func TestTakeInventoryLeavesOutThePluginsOwn(t *testing.T) {
	d := &listingDaemon{root: "/var/lib/docker",
		images:     []image.Summary{{ID: "sha256:a"}, {ID: "sha256:b"}, {ID: "sha256:probe", Labels: ours}},
		containers: []container.Summary{{ID: "c1"}, {ID: "helper", Labels: ours}},
		volumes:    []volume.Volume{{Name: "data"}},
	}
	inv := TakeInventory(t.Context(), d)
	if got := inv.Content(); got != (RootContent{Path: "/var/lib/docker", Images: 2, Containers: 1, Volumes: 1}) {
		t.Errorf("content %+v", got)
	}
	d.down = true
	if inv := TakeInventory(t.Context(), d); inv != nil {
		t.Errorf("a daemon that does not answer: %+v", inv)
	}
}

func TestReappearSaysWhatStaysInTheRemappedRoot(t *testing.T) {
	inv := func(root string, images []string, containers int, volumes ...string) *Inventory {
		i := &Inventory{root: root, images: map[string]bool{}, containers: containers, volumes: map[string]bool{}}
		for _, id := range images {
			i.images[id] = true
		}
		for _, v := range volumes {
			i.volumes[v] = true
		}
		return i
	}
	old := inv("/var/lib/docker", []string{"busybox", "app"}, 1, "data")
	// Carried in by enable --keep-images --keep-volumes: nothing made while
	// remapped.
	carriedIn := inv("/var/lib/docker/165536.165536", []string{"busybox", "app"}, 0, "data")
	r := Reappear(carriedIn, old, old)
	if r == nil || r.Visible.Counted() != "2 images, 1 container and 1 volume" || r.Visible.Path != "/var/lib/docker" || r.MadeWhileRemapped != nil {
		t.Errorf("nothing made while remapped: %+v", r)
	}
	// Made while remapped: an image, a container and a volume; the volume
	// carried back by disable --keep-volumes is in view again.
	made := inv("/var/lib/docker/165536.165536", []string{"busybox", "built"}, 1, "data", "cache", "logs")
	carriedBack := inv("/var/lib/docker", []string{"busybox", "app"}, 1, "data", "logs")
	r = Reappear(made, old, carriedBack)
	if r == nil || r.Visible.Counted() != "2 images, 1 container and 1 volume" || r.MadeWhileRemapped == nil ||
		*r.MadeWhileRemapped != (RootContent{Path: "/var/lib/docker/165536.165536", Images: 1, Containers: 1, Volumes: 1}) {
		t.Errorf("made while remapped: %+v", r)
	}
	// Docker 29: the remapped daemon's graphdriver lists by config digest
	// what the containerd store in use lists by manifest digest; the same
	// tags count, another tag does not, nor a switch without one.
	tagged := func(i *Inventory, store string, tags map[string][]string) *Inventory {
		i.store, i.tags = store, tags
		return i
	}
	containerdRoot := tagged(inv("/var/lib/docker", []string{"sha256:m1", "sha256:m2"}, 0), "containerd",
		map[string][]string{"sha256:m1": {"busybox:latest"}, "sha256:m2": {"app:1"}})
	graphRoot := tagged(inv("/var/lib/docker/999.999", []string{"sha256:c1", "sha256:c3"}, 0), "overlay2",
		map[string][]string{"sha256:c1": {"busybox:latest"}, "sha256:c3": {"app:2"}})
	r = Reappear(graphRoot, containerdRoot, containerdRoot)
	if r == nil || r.MadeWhileRemapped == nil || r.MadeWhileRemapped.Images != 1 {
		t.Errorf("across stores, by tag: %+v", r)
	}
	graphRoot.store = "containerd"
	if r = Reappear(graphRoot, containerdRoot, containerdRoot); r == nil || r.MadeWhileRemapped == nil || r.MadeWhileRemapped.Images != 2 {
		t.Errorf("the same store, by id only: %+v", r)
	}
	if r := Reappear(old, old, old); r != nil {
		t.Errorf("same data root: %+v", r)
	}
	if r := Reappear(nil, old, old); r != nil {
		t.Errorf("no inventory before: %+v", r)
	}
}

// One wording for counts, in status, doctor, disable and enable's refusal:
// status printed "1 containers" before.
func TestRootContentWords(t *testing.T) {
	for _, c := range []struct {
		in   RootContent
		want string
	}{
		{RootContent{Path: "/var/lib/docker", Images: 1, Containers: 1, Volumes: 1}, "/var/lib/docker: 1 image, 1 container and 1 volume"},
		{RootContent{Path: "/d/1.1", Images: 12, Volumes: 2}, "/d/1.1: 12 images, 0 containers and 2 volumes"},
		{RootContent{Path: "/var/lib/docker", Volumes: 1, ContainerdStore: true}, "/var/lib/docker: images in its containerd store (not counted), 0 containers and 1 volume"},
		{RootContent{Path: "/var/lib/docker", Images: 2, ContainerdStore: true}, "/var/lib/docker: 2 images (more in its containerd store, not counted), 0 containers and 0 volumes"},
	} {
		if got := c.in.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.in, got, c.want)
		}
	}
}
