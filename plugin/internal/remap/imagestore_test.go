package remap

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// containerdStatus is docker info's DriverStatus with the containerd store.
var containerdStatus = [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}

// TestEnableRefusesTheContainerdImageStore: before writing anything, enable
// refuses a daemon whose image store would break remapping: the containerd
// store before Docker 29 (seen in docker info, or set in daemon.json), and
// on Docker 29 a daemon.json with which the remapped daemon would not start
// or would start on the containerd store all the same; each naming the key
// and what breaks, in one line.
func TestEnableRefusesTheContainerdImageStore(t *testing.T) {
	containerdInfo := system.Info{ServerVersion: "28.5.2", DockerRootDir: "/var/lib/docker", Images: 3, Driver: "overlayfs", DriverStatus: containerdStatus}
	overlayInfo := system.Info{ServerVersion: "28.5.2", DockerRootDir: "/var/lib/docker", Driver: "overlay2"}
	docker29 := system.Info{ServerVersion: "29.8.1", DockerRootDir: "/var/lib/docker", Images: 7, Driver: "overlayfs", DriverStatus: containerdStatus}
	cases := []struct {
		name, daemonJSON string
		info             system.Info
		want             string
	}{
		{"in use, says docker info", "{}\n", containerdInfo, "the daemon keeps its images in the containerd image store: with userns-remap every BuildKit RUN step fails (moby issue #47377) and the 3 images there are not visible"},
		{"enabled in daemon.json", "{\"features\": {\"containerd-snapshotter\": true}}\n", overlayInfo, "enables the containerd image store (features.containerd-snapshotter)"},
		{"Docker 29 refuses to start with it explicit", "{\"features\": {\"containerd-snapshotter\": true}}\n", docker29, "Docker 29.8.1 refuses to start with it and userns-remap"},
		{"Docker 29 migrates a new remapped root to containerd", "{\"features\": {\"containerd-migration\": true}}\n", docker29,
			`sets features.containerd-migration: Docker 29.8.1 would move the remapped daemon's new data root to the containerd image store, where every BuildKit RUN step fails under userns-remap (moby issue #47377): set "features": {"containerd-migration": false}`},
		{"Docker 29 does not start with a snapshotter for a graphdriver", "{\"storage-driver\": \"overlayfs\"}\n", docker29,
			`sets storage-driver "overlayfs", not a graphdriver: Docker 29.8.1 uses a graphdriver under userns-remap and would not start: remove storage-driver`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := baseHost()
			files["/etc/docker/daemon.json"] = tc.daemonJSON
			dir := hostfstest.Tree(t, files)
			env := testEnv(t, dir)
			env.API = fakeDaemon{info: tc.info}
			before := hostfstest.Snapshot(t, dir)
			_, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), ", or pass --force") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q ending in the --force hint", err, tc.want)
			}
			hostfstest.Unchanged(t, dir, before)
		})
	}
	t.Run("Docker 20.10 ignores the feature", func(t *testing.T) {
		if err := imageStoreConflict(daemon.State{ImageStore: "overlay2", Version: "20.10.24"}, config(t, `{"features": {"containerd-snapshotter": true}}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("overlay2 is fine", func(t *testing.T) {
		if err := imageStoreConflict(daemon.State{ImageStore: "overlay2", Version: "28.5.2"}, config(t, "{}")); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEnableOnDocker29SwitchesTheStore: Docker 29's default containerd
// store is no reason to refuse (dockerd turns it off under remapping);
// enable, in a dry run too, says the store changes to a graphdriver and its
// images go out of view until disable.
func TestEnableOnDocker29SwitchesTheStore(t *testing.T) {
	for _, dry := range []bool{true, false} {
		dir := hostfstest.Tree(t, baseHost())
		env := testEnv(t, dir)
		w := newWorkDaemon(false)
		w.containers = nil
		w.info = system.Info{ServerVersion: "29.8.1", DockerRootDir: "/var/lib/docker", Images: 2, Driver: "overlayfs", DriverStatus: containerdStatus}
		env.API = w
		var progress bytes.Buffer
		env.Progress = &progress
		out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: dry})
		if err != nil {
			t.Fatalf("dry run %v: %v", dry, err)
		}
		want := StoreSwitch{Now: daemon.ContainerdStore, After: anyGraphdriver, Remapping: "on", Version: "29.8.1"}
		if out.ImageStore == nil || *out.ImageStore != want {
			t.Errorf("dry run %v: image store %+v, want %+v", dry, out.ImageStore, want)
		}
		for _, line := range []string{
			"WARNING: the image store changes from containerd to a graphdriver: Docker 29.8.1 turns the containerd image store off under userns-remap; its images stay there, out of view until remapping is disabled",
			"WARNING: the daemon's data root moves from /var/lib/docker to /var/lib/docker/999.999: its 2 images and 0 containers stay on disk but are not visible until remapping is disabled",
		} {
			if !strings.Contains(progress.String(), line+"\n") {
				t.Errorf("dry run %v: progress lacks %q:\n%s", dry, line, progress.String())
			}
		}
	}
}

// TestStoreSwitch: the store now and after, by version and daemon.json,
// both ways (dockerd's choice at start: determineImageStoreChoice at
// v2.0.0-beta.24).
func TestStoreSwitch(t *testing.T) {
	remapped := func(version, store string) daemon.State {
		return daemon.State{Version: version, ImageStore: store, Remapped: true, DataRoot: "/var/lib/docker/999.999"}
	}
	unremapped := func(version, store string) daemon.State {
		return daemon.State{Version: version, ImageStore: store, DataRoot: "/var/lib/docker"}
	}
	cases := []struct {
		name, json string
		files      map[string]string
		state      daemon.State
		after      string
	}{
		{"29 default store, remapping on", `{}`, nil, unremapped("29.8.1", daemon.ContainerdStore), anyGraphdriver},
		{"29 default store, storage-driver named", `{"storage-driver": "overlay2"}`, nil, unremapped("29.8.1", daemon.ContainerdStore), "overlay2"},
		{"29 graphdriver stays", `{}`, nil, unremapped("29.8.1", "overlay2"), "overlay2"},
		{"29 remapped, containerd comes back", `{}`, nil, remapped("29.8.1", "overlay2"), daemon.ContainerdStore},
		{"29 remapped, a prior overlay2 root stays overlay2", `{}`, map[string]string{"/var/lib/docker/overlay2/l/x": ""}, remapped("29.8.1", "overlay2"), "overlay2"},
		{"29 remapped, the feature off", `{"features": {"containerd-snapshotter": false}}`, nil, remapped("29.8.1", "overlay2"), "overlay2"},
		{"28.5 remapped, the feature on", `{"features": {"containerd-snapshotter": true}}`, nil, remapped("28.5.2", "overlay2"), daemon.ContainerdStore},
		{"28.5 remapped, graphdriver stays", `{}`, nil, remapped("28.5.2", "overlay2"), "overlay2"},
		{"20.10 ignores the feature", `{"features": {"containerd-snapshotter": true}}`, nil, remapped("20.10.24", "overlay2"), "overlay2"},
		{"28.5 containerd stays", `{}`, nil, unremapped("28.5.2", daemon.ContainerdStore), daemon.ContainerdStore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, err := hostfs.Open(hostfstest.Tree(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			sw := storeSwitch(root, tc.state, config(t, tc.json))
			if sw.After != tc.after || sw.Now != tc.state.ImageStore {
				t.Errorf("storeSwitch = %+v, want %s after", sw, tc.after)
			}
		})
	}
}

func config(t *testing.T, text string) *daemonconfig.Config {
	t.Helper()
	c, err := daemonconfig.Parse("/etc/docker/daemon.json", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
