package remap

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// workDaemon is an unremapped daemon with images and containers.
type workDaemon struct {
	fakeDaemon
	containers []container.Summary
	policies   map[string]container.RestartPolicyMode
}

func (f workDaemon) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	return client.ContainerListResult{Items: f.containers}, nil
}

func (f workDaemon) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	var r client.ContainerInspectResult
	r.Container.HostConfig = &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: f.policies[id]}}
	return r, nil
}

func newWorkDaemon(liveRestore bool) workDaemon {
	return workDaemon{
		fakeDaemon: fakeDaemon{info: system.Info{ServerVersion: "test", DockerRootDir: "/var/lib/docker", Images: 4, Containers: 3, LiveRestoreEnabled: liveRestore}},
		containers: []container.Summary{
			{ID: "aaa", Names: []string{"/web"}, State: container.StateRunning},
			{ID: "bbb", Names: []string{"/db"}, State: container.StateRunning},
			{ID: "ccc", Names: []string{"/old"}, State: container.StateExited},
		},
		policies: map[string]container.RestartPolicyMode{"aaa": container.RestartPolicyAlways, "ccc": container.RestartPolicyUnlessStopped},
	}
}

// TestEnableTellsWhatHappensToRunningWork is issue 12 case 13: images and
// containers are counted, restart policies and live-restore named, in a dry
// run too; running containers or live-restore refuse without --force.
func TestEnableTellsWhatHappensToRunningWork(t *testing.T) {
	for _, liveRestore := range []bool{false, true} {
		dir := hostfstest.Tree(t, baseHost())
		before := hostfstest.Snapshot(t, dir)
		env := testEnv(t, dir)
		env.API = newWorkDaemon(liveRestore)
		var progress bytes.Buffer
		env.Progress = &progress

		out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: true})
		if err != nil {
			t.Fatalf("dry run: %v", err)
		}
		if out.Work == nil || out.Work.Images != 4 || out.Work.Containers != 3 || len(out.Work.Running) != 2 || len(out.Work.RestartPolicy) != 2 || out.Work.LiveRestore != liveRestore {
			t.Errorf("dry run's running work: %+v", out.Work)
		}
		wants := []string{"4 images and 3 containers", "/var/lib/docker/999.999", "web (always)", "old (unless-stopped)", "enable would refuse", "2 containers run (db, web)"}
		if liveRestore {
			wants = append(wants, "live-restore is on: 2 running containers keep running, orphaned")
		} else {
			wants = append(wants, "2 running containers are stopped by the restart")
		}
		for _, want := range wants {
			if !strings.Contains(progress.String(), want) {
				t.Errorf("live-restore %v: dry run does not say %q:\n%s", liveRestore, want, progress.String())
			}
		}
		hostfstest.Unchanged(t, dir, before)

		_, err = Enable(context.Background(), env, EnableOptions{Spec: "agent"})
		if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "2 containers run") {
			t.Fatalf("enable with running containers: want a refusal naming them and --force, got %v", err)
		}
		if liveRestore && !strings.Contains(err.Error(), "live-restore is on") {
			t.Errorf("refusal does not name live-restore: %v", err)
		}
		hostfstest.Unchanged(t, dir, before)

		if _, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", Force: true}); err != nil {
			t.Fatalf("enable --force: %v", err)
		}
	}
}

// TestEnableRefusesLiveRestoreWithoutRunningContainers: live-restore alone
// refuses, since a container started before the restart is orphaned.
func TestEnableRefusesLiveRestoreWithoutRunningContainers(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	env.API = fakeDaemon{info: system.Info{ServerVersion: "test", DockerRootDir: "/var/lib/docker", LiveRestoreEnabled: true}}
	_, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"})
	if err == nil || !strings.Contains(err.Error(), "live-restore is on") {
		t.Fatalf("want a refusal naming live-restore, got %v", err)
	}
}

// TestEnableLeavesTheHelperOutOfRunningWork: through the daemon the helper
// container running enable is not the operator's work.
func TestEnableLeavesTheHelperOutOfRunningWork(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	d := newWorkDaemon(false)
	d.info.Containers, d.info.Images = 1, 1
	d.containers = []container.Summary{{ID: "helper123456", Names: []string{"/docker-userns-helper-1"}, State: container.StateRunning}}
	env.API = d
	env.Leftovers.Container = "docker-userns-helper-1"
	out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Work == nil || out.Work.Containers != 0 || len(out.Work.Running) != 0 {
		t.Errorf("the helper counts as running work: %+v", out.Work)
	}
}
