package remap

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// workDaemon is an unremapped daemon with images and containers.
type workDaemon struct {
	fakeDaemon
	containers []container.Summary
	images     []image.Summary
	policies   map[string]container.RestartPolicyMode
	usernsHost map[string]bool
}

// ContainerList lists every container, or the running ones.
func (f workDaemon) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	var out []container.Summary
	for _, c := range f.containers {
		if o.All || c.State == container.StateRunning {
			out = append(out, c)
		}
	}
	return client.ContainerListResult{Items: out}, nil
}

// ImageList lists the images, those with a label key when filtered so.
func (f workDaemon) ImageList(_ context.Context, o client.ImageListOptions) (client.ImageListResult, error) {
	var out []image.Summary
	for _, i := range f.images {
		keep := true
		for key := range o.Filters["label"] {
			_, keep = i.Labels[key]
		}
		if keep {
			out = append(out, i)
		}
	}
	return client.ImageListResult{Items: out}, nil
}

func (f workDaemon) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	var r client.ContainerInspectResult
	r.Container.HostConfig = &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: f.policies[id]}}
	if f.usernsHost[id] {
		r.Container.HostConfig.UsernsMode = "host"
	}
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

// ourDaemon runs the operator's --userns=host container beside the
// plugin's own, known by their labels only: the helper running this, and a
// probe of a `docker userns test` that opts out of remapping.
func ourDaemon() workDaemon {
	d := newWorkDaemon(false)
	ours := func(role string) map[string]string {
		return map[string]string{sweep.LabelRole: role, sweep.LabelCreated: "1700000000"}
	}
	d.containers = []container.Summary{
		{ID: "helper123456", Names: []string{"/docker-userns-helper-1"}, State: container.StateRunning, Labels: ours("helper")},
		{ID: "probe1234567", Names: []string{"/eager_turing"}, State: container.StateRunning, Labels: ours("probe")},
		{ID: "ops123456789", Names: []string{"/node-exporter"}, State: container.StateRunning},
	}
	d.images = []image.Summary{{ID: "sha256:h", Labels: ours("helper")}, {ID: "sha256:p", Labels: ours("probe")}, {ID: "sha256:o"}}
	d.info.Containers, d.info.Images = 3, 3
	d.usernsHost = map[string]bool{"helper123456": true, "probe1234567": true, "ops123456789": true}
	return d
}

// TestEnableLeavesTheHelperOutOfRunningWork: through the daemon the helper
// container running enable, and a probe of a test beside it, are not the
// operator's work: their labels say so.
func TestEnableLeavesTheHelperOutOfRunningWork(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	env.API = ourDaemon()
	out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Work == nil || out.Work.Containers != 1 || out.Work.Images != 1 || !slices.Equal(out.Work.Running, []string{"node-exporter"}) {
		t.Errorf("the plugin's own containers count as running work: %+v", out.Work)
	}
}

// TestStatusNeverWarnsAboutOurOwnContainers: status read in a helper
// container (--userns=host) warned "container docker-userns-helper-...
// runs with --userns=host: it bypasses remapping" about itself. Only the
// operator's container is named, in status and doctor.
func TestStatusNeverWarnsAboutOurOwnContainers(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := ReadStatus(context.Background(), root, ourDaemon())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.HostUserns, []string{"node-exporter"}) {
		t.Errorf("--userns=host containers: %q, want only node-exporter", st.HostUserns)
	}
	for _, w := range st.Warnings {
		if strings.Contains(w, "docker-userns-helper") || strings.Contains(w, "eager_turing") {
			t.Errorf("status warns about the plugin's own container: %s", w)
		}
	}
}

// TestDoctorDoesNotCallItsOwnHelperALeftover: doctor through the daemon
// runs in a helper container, which the leftovers check listed as "in use
// by a run now"; another run's probe is still named.
func TestDoctorDoesNotCallItsOwnHelperALeftover(t *testing.T) {
	d := ourDaemon()
	d.containers = d.containers[:2] // the helper and a probe: ours only
	d.images = []image.Summary{{ID: "sha256:h", RepoTags: []string{"docker-userns-probe:helper1"}, Labels: d.containers[0].Labels}}
	// A helper names its image by ID (probe.Image.Lasting), an older one by tag.
	for _, image := range []string{"sha256:h", "docker-userns-probe:helper1"} {
		var details []string
		leftoverCheck(context.Background(), d, hostagent.HelperObjects{Container: "docker-userns-helper-1", Image: image}, func(_ string, _ verify.Verdict, detail, _ string) {
			details = append(details, detail)
		})
		all := strings.Join(details, "\n")
		if strings.Contains(all, "docker-userns-helper-1") || strings.Contains(all, "helper1") || !strings.Contains(all, "eager_turing") {
			t.Errorf("own image %s: leftovers: %q, want the other run's probe only", image, details)
		}
	}
}
