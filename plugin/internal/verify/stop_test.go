package verify

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// revertedDaemon answers Info as the old, unremapped config's daemon, and
// imports a probe image once it has answered; a container asked of it
// panics (the embedded nil interface).
type revertedDaemon struct {
	client.APIClient
	verdict  chan struct{} // closed by checkDaemon once the answer failed
	imported atomic.Bool
	removed  atomic.Bool
}

func (d *revertedDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: system.Info{ServerVersion: "20.10.24", DockerRootDir: "/var/lib/docker"}}, nil
}

func (d *revertedDaemon) ImageImport(ctx context.Context, src client.ImageImportSource, _ string, _ client.ImageImportOptions) (client.ImageImportResult, error) {
	_, _ = io.Copy(io.Discard, src.Source)
	d.imported.Store(true)
	select {
	case <-d.verdict: // the daemon's answer failed: no container must follow
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return io.NopCloser(strings.NewReader(`{"status":"sha256:0123"}` + "\n")), nil
}

func (d *revertedDaemon) ImageRemove(context.Context, string, client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	d.removed.Store(true)
	return client.ImageRemoveResult{}, nil
}

// TestDaemonStopsTheProbeOfADaemonThatSaysItIsNotAsExpected: after a
// revert the daemon that answers is the old config's; its own answer fails
// the expectation, and the probe starts no container (its image, imported
// meanwhile, is removed with the rest).
func TestDaemonStopsTheProbeOfADaemonThatSaysItIsNotAsExpected(t *testing.T) {
	exp := Expectation{Remapped: true, RootUID: 999, RootGID: 999}
	api := &revertedDaemon{verdict: make(chan struct{})}
	bin := filepath.Join(t.TempDir(), "docker-userns")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := checkDaemon(ctx, api, bin, exp, api.verdict)
	if err != nil {
		t.Fatalf("want the failed checks, got %v", err)
	}
	if res.Report.OK() || len(res.Report.Failed()) != 2 {
		t.Errorf("report: %+v, want the remapping and data root checks failed", res.Report)
	}
	if err := res.Remove(); err != nil {
		t.Errorf("remove: %v", err)
	}
	if !api.imported.Load() || !api.removed.Load() {
		t.Errorf("probe image imported %v, removed %v: want both", api.imported.Load(), api.removed.Load())
	}
}

// ServerVersion says the daemon is of this machine's platform, so that
// probe and helper images are made of this plugin's own programs.
func (*revertedDaemon) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: runtime.GOOS, Arch: runtime.GOARCH}, nil
}
