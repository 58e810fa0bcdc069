package remap

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// remappedDaemon is a daemon remapped to agent (data root 999.999) holding
// images and volumes, one image the plugin's own.
type remappedDaemon struct {
	workDaemon
	volumes []volume.Volume
}

func (f remappedDaemon) VolumeList(context.Context, client.VolumeListOptions) (client.VolumeListResult, error) {
	return client.VolumeListResult{Items: f.volumes}, nil
}

func newRemappedDaemon(images int, volumes ...string) remappedDaemon {
	d := remappedDaemon{workDaemon: workDaemon{fakeDaemon: fakeDaemon{info: system.Info{ServerVersion: "test",
		DockerRootDir: "/var/lib/docker/999.999", SecurityOptions: []string{"name=seccomp,profile=builtin", "name=userns"}}}}}
	d.images = []image.Summary{{ID: "sha256:helper", Labels: map[string]string{sweep.LabelRole: "helper"}}}
	for i := range images {
		d.images = append(d.images, image.Summary{ID: "sha256:" + strings.Repeat("a", i+1)})
	}
	d.info.Images = len(d.images)
	for _, v := range volumes {
		d.volumes = append(d.volumes, volume.Volume{Name: v, Driver: "local"})
	}
	return d
}

// remappedHost is a host an earlier enable remapped to agent with a
// narrow range; tail follows agent's lines in both files (bob:231071:10
// keeps a wider range from growing in place).
func remappedHost(t *testing.T, tail string) Env {
	t.Helper()
	ours := "agent:999:1\nagent:165536:65535\n"
	files := baseHost()
	files[SubUIDPath] += ours + tail
	files[SubGIDPath] += ours + tail
	files["/etc/docker/daemon.json"] = "{\"userns-remap\": \"agent\"}\n"
	env := testEnv(t, hostfstest.Tree(t, files))
	added := []subid.Range{{Owner: "agent", Start: 999, Count: 1}, {Owner: "agent", Start: 165536, Count: 65535}}
	st := &hostchange.State{Remap: "agent", DaemonJSON: "/etc/docker/daemon.json", AddedUID: added, AddedGID: added}
	if err := st.Save(env.Root); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestEnableRefusesAMapChangeInTheSameDataRoot: a wider enable whose range
// cannot grow in place keeps the data root (named after container root)
// but moves every other container id: what the root holds was written
// with the old host ids. enable refuses before any write, says so in a dry
// run, goes on with --force and a warning; the plugin's own image is not
// counted, and an empty root or a range that grows in place is no concern.
func TestEnableRefusesAMapChangeInTheSameDataRoot(t *testing.T) {
	wider := EnableOptions{Spec: "agent", Size: 131072}
	t.Run("refused before any write", func(t *testing.T) {
		env := remappedHost(t, "bob:231071:10\n")
		env.API = newRemappedDaemon(2, "data")
		dir := env.Root.Dir()
		before := hostfstest.Snapshot(t, dir)
		_, refusal := Enable(context.Background(), env, wider)
		if refusal == nil {
			t.Fatal("enable changed the map under a data root holding images and volumes")
		}
		golden.Assert(t, refusal.Error()+"\n", "mapchange-refusal.golden")
		hostfstest.Unchanged(t, dir, before)

		var progress bytes.Buffer
		env.Progress = &progress
		opts := wider
		opts.DryRun = true
		out, err := Enable(context.Background(), env, opts)
		if err != nil {
			t.Fatalf("dry run: %v", err)
		}
		if !strings.Contains(progress.String(), "enable would refuse: "+refusal.Error()) {
			t.Errorf("dry run does not say enable would refuse:\n%s", progress.String())
		}
		if out.MapChange == nil || out.MapChange.Holds.Images != 2 || out.MapChange.Holds.Volumes != 1 {
			t.Errorf("dry run's map change: %+v", out.MapChange)
		}
		hostfstest.Unchanged(t, dir, before)
	})
	t.Run("forced with a warning", func(t *testing.T) {
		env := remappedHost(t, "bob:231071:10\n")
		env.API = newRemappedDaemon(2, "data")
		var progress bytes.Buffer
		env.Progress = &progress
		opts := wider
		opts.Force = true
		out, err := Enable(context.Background(), env, opts)
		if err != nil {
			t.Fatalf("enable --force: %v", err)
		}
		if !strings.Contains(progress.String(), "WARNING: the daemon's data root /var/lib/docker/999.999 stays") || out.MapChange == nil {
			t.Errorf("enable --force does not warn of the map change:\n%s", progress.String())
		}
	})
	for name, c := range map[string]struct {
		tail string
		api  remappedDaemon
	}{
		"an empty data root (the plugin's own image only)": {"bob:231071:10\n", newRemappedDaemon(0)},
		"a range that grows in place":                      {"", newRemappedDaemon(2, "data")},
	} {
		t.Run(name, func(t *testing.T) {
			env := remappedHost(t, c.tail)
			env.API = c.api
			out, err := Enable(context.Background(), env, wider)
			if err != nil || out.MapChange != nil {
				t.Fatalf("enable: %v, map change %+v", err, out.MapChange)
			}
		})
	}
}
