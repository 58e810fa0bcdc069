// Package daemon talks to the Docker daemon: what it says about remapping,
// restarting it, and waiting until it answers again.
package daemon

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/client"
)

// State is what the daemon itself says, as opposed to what the host files say.
type State struct {
	Version         string   `json:"version"`
	Remapped        bool     `json:"remapped"`
	DataRoot        string   `json:"dataRoot"`
	SecurityOptions []string `json:"securityOptions"`
	Images          int      `json:"images"`
	Containers      int      `json:"containers"`
	// ImageStore is where the daemon keeps images: "containerd" for the
	// containerd image store, else the graph driver ("overlay2").
	ImageStore string `json:"imageStore"`
}

// ContainerdStore is the ImageStore value of the containerd image store.
const ContainerdStore = "containerd"

// imageStoreOf reads the image store from `docker info`: with the
// containerd image store, DriverStatus holds driver-type
// io.containerd.snapshotter.v1 (seen on 28.5.2 with
// "features": {"containerd-snapshotter": true}, Driver "overlayfs").
func imageStoreOf(driver string, status [][2]string) string {
	for _, kv := range status {
		if kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			return ContainerdStore
		}
	}
	return driver
}

// Inspect asks the daemon for its state (nil api: ErrNotAsked).
func Inspect(ctx context.Context, api client.APIClient) (State, error) {
	if api == nil {
		return State{}, ErrNotAsked
	}
	res, err := api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return State{}, fmt.Errorf("ask the daemon for its info: %w", err)
	}
	info := res.Info
	return State{
		Version:         info.ServerVersion,
		Remapped:        RemapsIn(info.SecurityOptions),
		DataRoot:        info.DockerRootDir,
		SecurityOptions: info.SecurityOptions,
		Images:          info.Images,
		Containers:      info.Containers,
		ImageStore:      imageStoreOf(info.Driver, info.DriverStatus),
	}, nil
}

// RemapsIn reports whether "name=userns" is among a daemon's security
// options: the daemon lists it only while remapping is on.
func RemapsIn(opts []string) bool {
	for _, opt := range opts {
		for _, field := range strings.Split(opt, ",") {
			if field == "name=userns" {
				return true
			}
		}
	}
	return false
}

// RemappedRootPair returns the "<uid>.<gid>" suffix that a remapped daemon
// appends to its data root, or "" when the data root has none.
func (s State) RemappedRootPair() (uid, gid uint32, ok bool) {
	var u, g uint32
	if n, err := fmt.Sscanf(path.Base(s.DataRoot), "%d.%d", &u, &g); err != nil || n != 2 {
		return 0, 0, false
	}
	if path.Base(s.DataRoot) != fmt.Sprintf("%d.%d", u, g) {
		return 0, 0, false
	}
	return u, g, true
}
