package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/internal/procstart"
)

// killedChildEnv makes this test binary play a `go test` that starts a DinD
// container and is then killed, for TestSweepRemovesWhatAKilledTestLeft.
const killedChildEnv = "HARNESS_TEST_KILLED_CHILD"

func TestOrphanedOwner(t *testing.T) {
	host, _ := os.Hostname()
	gone := exec.Command("true")
	if err := gone.Start(); err != nil {
		t.Fatal(err)
	}
	start := procstart.Of(gone.Process.Pid)
	if err := gone.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		label string
		want  bool
	}{
		{owner(), false},
		{fmt.Sprintf("%s/%d/%s", host, gone.Process.Pid, start), true},
		{fmt.Sprintf("%s/%d/%s1", host, os.Getpid(), procstart.Of(os.Getpid())), true}, // the pid, reused
		{fmt.Sprintf("elsewhere/%d/%s", gone.Process.Pid, start), false},
		{"", false},
		{host + "/notapid/1", false},
		{fmt.Sprintf("%s/%d/", host, gone.Process.Pid), false},
	} {
		if got := orphaned(c.label, host); got != c.want {
			t.Errorf("orphaned(%q) = %v, want %v", c.label, got, c.want)
		}
	}
}

// TestSweepRemovesWhatAKilledTestLeft: a test process that started a DinD
// host (with a host socket dir) is killed with SIGKILL, so no Cleanup runs;
// the sweep of the next Run removes its container, volume and socket dir,
// and leaves alone the container of a live process (this one) and one
// without an owner label.
func TestSweepRemovesWhatAKilledTestLeft(t *testing.T) {
	if os.Getenv(killedChildEnv) == "1" {
		d, err := Run(t.Context(), Versions()[0].Image, WithHostSocket())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("started %s %s\n", d.GetContainerID(), d.socketDir)
		time.Sleep(time.Hour) // until killed
		return
	}
	ctx := t.Context()
	api, err := hostClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestSweepRemovesWhatAKilledTestLeft$", "-test.v")
	child.Env = append(os.Environ(), killedChildEnv+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var leftID, leftDir string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "started" {
			leftID, leftDir = f[1], f[2]
			break
		}
	}
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()
	if leftID == "" {
		t.Fatal("the child started no DinD container")
	}
	// t.Context is cancelled before the cleanups run: they use a context of
	// their own, or they remove nothing.
	cleanupCtx := context.WithoutCancel(ctx)
	t.Cleanup(func() { // should the sweep fail
		_, _ = api.ContainerRemove(cleanupCtx, leftID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})

	// Two that must stay: one of this live process, one without an owner.
	keep := map[string]string{}
	for name, labels := range map[string]map[string]string{
		"ours":     {labelHarness: "probe", labelOwner: owner()},
		"no owner": {labelHarness: "probe"},
	} {
		created, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: Versions()[0].Image, Entrypoint: []string{"/bin/true"}, Labels: labels},
		})
		if err != nil {
			t.Fatal(err)
		}
		keep[name] = created.ID
		t.Cleanup(func() {
			_, _ = api.ContainerRemove(cleanupCtx, created.ID, client.ContainerRemoveOptions{Force: true})
		})
	}

	removed, err := sweepOrphans(ctx, api)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swept %v", removed)
	if err := goneSoon(ctx, api, leftID); err != nil {
		t.Errorf("the killed test's container %s: %v", short(leftID), err)
	}
	if _, err := os.Stat(leftDir); !os.IsNotExist(err) {
		t.Errorf("its socket dir %s is still there (%v)", leftDir, err)
	}
	for name, id := range keep {
		if _, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err != nil {
			t.Errorf("the container %s (%s) was removed: %v", name, short(id), err)
		}
	}
}

// TestSweepsAtOnce: the first Runs of several test processes (go test runs
// packages in parallel) sweep the same orphan at the same time; the daemon
// answers all but one "removal ... already in progress" (moby
// daemon/delete.go ContainerRm: errdefs.Conflict, v20.10.24 to v28.5.2).
// Each sweep must succeed, and the orphan be gone soon after.
func TestSweepsAtOnce(t *testing.T) {
	ctx := t.Context()
	api, err := hostClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	// A pid that is gone, with a start time no process has.
	label := fmt.Sprintf("%s/%d/0", host, gone.Process.Pid)
	created, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: Versions()[0].Image, Entrypoint: []string{"sleep", "3600"},
			Labels: map[string]string{labelHarness: "probe", labelOwner: label}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = api.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	const sweeps = 6
	errs := make(chan error, sweeps)
	for range sweeps {
		go func() {
			_, err := sweepOrphans(ctx, api)
			errs <- err
		}()
	}
	for range sweeps {
		if err := <-errs; err != nil {
			t.Errorf("a sweep beside others failed: %v", err)
		}
	}
	if err := goneSoon(ctx, api, created.ID); err != nil {
		t.Errorf("the orphan %s: %v", short(created.ID), err)
	}
}

// goneSoon waits until the container id is gone. A sweep returns once the
// orphan is gone or going: the removal under way may be another test
// process's (go test runs packages at once, and each one's first Run
// sweeps the same orphans), and end after this process's sweep returned.
func goneSoon(ctx context.Context, api *client.Client, id string) error {
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = api.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); cerrdefs.IsNotFound(err) {
			return nil
		}
	}
	return fmt.Errorf("still there a minute after the sweep (inspect: %v)", err)
}
