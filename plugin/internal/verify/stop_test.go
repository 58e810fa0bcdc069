package verify

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// revertedDaemon answers Info as the old, unremapped config's daemon, and
// takes a probe image's import until the caller gives up on it.
type revertedDaemon struct{ client.APIClient }

func (revertedDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: system.Info{ServerVersion: "20.10.24", DockerRootDir: "/var/lib/docker"}}, nil
}

func (revertedDaemon) ImageImport(ctx context.Context, src client.ImageImportSource, _ string, _ client.ImageImportOptions) (client.ImageImportResult, error) {
	go func() { _, _ = io.Copy(io.Discard, src.Source) }()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(20 * time.Second):
		return nil, context.DeadlineExceeded
	}
}

// TestDaemonStopsTheProbeOfADaemonThatSaysItIsNotAsExpected: after a
// revert the daemon that answers is the old config's; its own answer fails
// the expectation, and the probe (an image import, a container) is not
// waited for.
func TestDaemonStopsTheProbeOfADaemonThatSaysItIsNotAsExpected(t *testing.T) {
	exp := Expectation{Remapped: true, RootUID: 999, RootGID: 999}
	start := time.Now()
	res, err := Daemon(context.Background(), revertedDaemon{}, "/nonexistent/docker-userns", exp)
	if err != nil {
		t.Fatalf("want the failed checks, got %v", err)
	}
	if res.Report.OK() || len(res.Report.Failed()) != 2 {
		t.Errorf("report: %+v, want the remapping and data root checks failed", res.Report)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Daemon waited %s for a probe whose answer no longer mattered", took)
	}
	if err := res.Remove(); err != nil {
		t.Errorf("remove: %v", err)
	}
}
