package harness

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// KeepFailedEnv names the switch that keeps the containers of failed tests.
const KeepFailedEnv = "USERNS_KEEP_FAILED"

// Cleanup registers with t the removal of d's container and volumes, also
// when the test fails. With USERNS_KEEP_FAILED=1 a failed test's container
// is kept, and the log says how to reach and remove it. Call it right after
// Run, before checking Run's error: Run returns a partly built container
// with its error. A nil d is fine.
func Cleanup(t testing.TB, d *DinD) {
	t.Helper()
	t.Cleanup(func() {
		if d == nil || d.Container == nil {
			return
		}
		id := d.GetContainerID()
		if t.Failed() && os.Getenv(KeepFailedEnv) == "1" {
			logCmd := "cat " + DaemonLogPath
			if d.Flavour() == Systemd {
				logCmd = "journalctl -u " + DockerService
			}
			t.Logf("%s=1: kept DinD container %s of failed %s\n  inspect: docker exec -it %s bash\n  daemon log: docker exec %s %s\n  remove: docker rm -fv %s",
				KeepFailedEnv, short(id), t.Name(), short(id), short(id), logCmd, short(id))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Zero stop timeout: KILL at once; nothing in the container is worth
		// a graceful stop, and the volumes go with it.
		if err := d.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
			t.Errorf("remove DinD container %s: %v", short(id), err)
		}
	})
}

// Start runs a DinD container for the test, registers its Cleanup and fails
// the test (t.Fatal) when it cannot start; the message says what to do
// (start Docker, `make dind-images`). The container lives until t ends.
func Start(t testing.TB, image string, opts ...testcontainers.ContainerCustomizer) *DinD {
	t.Helper()
	// The container's log lines go to the test's log, shown on failure or -v.
	opts = append([]testcontainers.ContainerCustomizer{testcontainers.WithLogger(tclog.TestLogger(t))}, opts...)
	d, err := Run(t.Context(), image, opts...)
	Cleanup(t, d)
	if err != nil {
		t.Fatalf("%v (the harness needs a Docker engine, `make docker`, and its images, `make dind-images`)", err)
	}
	return d
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
