package remap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// withDockerd adds a running dockerd (pid 77) whose parent is ppid with
// command name comm, as /proc shows it.
func withDockerd(files map[string]string, ppid, comm string) map[string]string {
	files["/var/run/docker.pid"] = "77\n"
	files["/proc/77/comm"] = "dockerd\n"
	files["/proc/77/stat"] = "77 (dockerd) S " + ppid + " 77 77 0 -1 4194560\n"
	files["/proc/"+ppid+"/comm"] = comm + "\n"
	return files
}

// A dockerd started by hand and reparented to init comes back after no
// signal: enable with --restart signal is refused before any write, and
// doctor says what manages the daemon.
func TestEnableRefusesSignalWithoutSupervisor(t *testing.T) {
	dir := hostfstest.Tree(t, withDockerd(baseHost(), "1", "init"))
	before := hostfstest.Snapshot(t, dir)
	env := testEnv(t, dir)
	env.Restarter.Strategy = daemon.StrategySignal
	_, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"})
	if err == nil || !strings.Contains(err.Error(), "--restart none") || !strings.Contains(err.Error(), "reparented to init") {
		t.Fatalf("want a refusal naming --restart none, got %v", err)
	}
	hostfstest.Unchanged(t, dir, before)

	findings := Doctor(context.Background(), env.Root, downDaemon{}, DoctorOptions{})
	f := findingOf(findings, "managed by")
	if f.Verdict != Warn || !strings.Contains(f.Detail, "nothing") {
		t.Errorf("doctor managed by = %+v, want WARN nothing", f)
	}
}

func TestDoctorManagedBySupervisor(t *testing.T) {
	files := withDockerd(baseHost(), "1", "entry.sh")
	files["/etc/systemd/system/docker.service.d/data.conf"] = "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --data-root=/srv/docker\n"
	dir := hostfstest.Tree(t, files)
	env := testEnv(t, dir)
	f := findingOf(Doctor(context.Background(), env.Root, downDaemon{}, DoctorOptions{}), "managed by")
	if f.Verdict != Pass || !strings.Contains(f.Detail, "entry.sh (pid 1)") || !strings.Contains(f.Detail, "--data-root=/srv/docker (/etc/systemd/system/docker.service.d/data.conf:3)") {
		t.Errorf("doctor managed by = %+v", f)
	}
}

func findingOf(fs Findings, check string) Finding {
	for _, f := range fs {
		if f.Check == check {
			return f
		}
	}
	return Finding{}
}

// downDaemon does not answer: doctor reads only the host.
type downDaemon struct{ client.APIClient }

func (downDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{}, errors.New("Cannot connect to the Docker daemon")
}

// TestDoctorLocalImagesWithoutDaemon: doctor warns, it does not fail, when
// the images cannot be scanned, and --skip-images leaves the check out.
func TestDoctorLocalImagesWithoutDaemon(t *testing.T) {
	env := testEnv(t, hostfstest.Tree(t, baseHost()))
	f := findingOf(Doctor(context.Background(), env.Root, downDaemon{}, DoctorOptions{}), "local images")
	if f.Verdict != Warn || !strings.HasPrefix(f.Detail, "not scanned: ") {
		t.Errorf("finding %+v", f)
	}
	if f := findingOf(Doctor(context.Background(), env.Root, downDaemon{}, DoctorOptions{SkipImages: true}), "local images"); f.Verdict != "" {
		t.Errorf("--skip-images still scanned: %+v", f)
	}
}
