package harness_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// childEnv makes this test binary play a failing test that started a DinD
// container, for TestCleanupKeepsOnlyFailedContainersOnRequest.
const childEnv = "HARNESS_TEST_FAILING_CHILD"

var startedID = regexp.MustCompile(`started DinD container ([0-9a-f]{12})`)

func TestCleanupKeepsOnlyFailedContainersOnRequest(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		d := harness.Start(t, harness.Versions()[0].Image)
		t.Logf("started DinD container %s", d.GetContainerID()[:12])
		t.Fail() // on purpose: the parent checks what Cleanup does with a failed test
		return
	}

	api, err := testcontainers.NewDockerClientWithOpts(t.Context())
	if err != nil {
		t.Fatalf("connect to docker: %v", err)
	}
	exists := func(id string) bool {
		_, err := api.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
		return err == nil
	}
	runChild := func(keep string) (id, out string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCleanupKeepsOnlyFailedContainersOnRequest$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1", harness.KeepFailedEnv+"="+keep)
		b, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("the failing child test passed:\n%s", b)
		}
		m := startedID.FindSubmatch(b)
		if m == nil {
			t.Fatalf("the child test did not start a container:\n%s", b)
		}
		return string(m[1]), string(b)
	}

	kept, out := runChild("1")
	t.Cleanup(func() {
		_, _ = api.ContainerRemove(context.Background(), kept, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})
	if !exists(kept) {
		t.Errorf("with %s=1 the failed test's container %s is gone", harness.KeepFailedEnv, kept)
	}
	if want := "docker exec -it " + kept + " bash"; !strings.Contains(out, want) {
		t.Errorf("with %s=1 the log does not say %q:\n%s", harness.KeepFailedEnv, want, out)
	}

	removed, out := runChild("")
	// The second child's first Run sweeps what gone processes left: the kept
	// container, whose owner (the first child) is gone, must not be taken.
	if !exists(kept) {
		t.Errorf("the next run's sweep removed the container %s kept with %s=1", kept, harness.KeepFailedEnv)
	}
	if exists(removed) {
		_, _ = api.ContainerRemove(context.Background(), removed, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		t.Errorf("without %s the failed test's container %s was kept:\n%s", harness.KeepFailedEnv, removed, out)
	}
}
