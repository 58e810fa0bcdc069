package remap

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// TestEnableRefusesTheContainerdImageStore: before writing anything, enable
// refuses a daemon that keeps images in the containerd store (seen in
// docker info, or set in daemon.json), naming the store and what breaks;
// --force goes on.
func TestEnableRefusesTheContainerdImageStore(t *testing.T) {
	containerdInfo := system.Info{ServerVersion: "28.5.2", DockerRootDir: "/var/lib/docker", Images: 3,
		Driver: "overlayfs", DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}}
	overlayInfo := system.Info{ServerVersion: "28.5.2", DockerRootDir: "/var/lib/docker", Driver: "overlay2"}
	cases := []struct {
		name, daemonJSON string
		info             system.Info
		want             string
	}{
		{"in use, says docker info", "{}\n", containerdInfo, "the daemon keeps its images in the containerd image store: with userns-remap every BuildKit RUN step fails (moby issue #47377) and the 3 images there are not visible"},
		{"enabled in daemon.json", "{\"features\": {\"containerd-snapshotter\": true}}\n", overlayInfo, "enables the containerd image store (features.containerd-snapshotter)"},
		{"Docker 29 refuses to start with it explicit", "{\"features\": {\"containerd-snapshotter\": true}}\n",
			system.Info{ServerVersion: "29.1.0", DockerRootDir: "/var/lib/docker", Driver: "overlayfs", DriverStatus: containerdInfo.DriverStatus}, "Docker 29.1.0 refuses to start with it and userns-remap"},
		{"Docker 29 turns its default store off", "{}\n",
			system.Info{ServerVersion: "29.1.0", DockerRootDir: "/var/lib/docker", Images: 7, Driver: "overlayfs", DriverStatus: containerdInfo.DriverStatus}, "its 7 images in the containerd image store, which Docker 29.1.0 turns off under userns-remap"},
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
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, tc.want)
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

func config(t *testing.T, text string) *daemonconfig.Config {
	t.Helper()
	c, err := daemonconfig.Parse("/etc/docker/daemon.json", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
