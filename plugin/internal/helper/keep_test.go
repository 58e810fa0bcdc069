package helper

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// removingDaemon imports any image and answers the image removals with
// the errors given, in order, then success; it counts the removals.
type removingDaemon struct {
	client.APIClient
	errs    []error
	removes int
}

func (d *removingDaemon) ImageImport(_ context.Context, src client.ImageImportSource, _ string, _ client.ImageImportOptions) (client.ImageImportResult, error) {
	_, _ = io.Copy(io.Discard, src.Source)
	return io.NopCloser(strings.NewReader(`{"status":"sha256:0123"}` + "\n")), nil
}

func (d *removingDaemon) ImageRemove(context.Context, string, client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	d.removes++
	if len(d.errs) > 0 {
		err := d.errs[0]
		d.errs = d.errs[1:]
		return client.ImageRemoveResult{}, err
	}
	return client.ImageRemoveResult{}, nil
}

// TestReleaseTriesAgain: the kept helper image's removal after a change
// failed once and the image stayed, unsaid, in the data root the daemon
// had just moved to (seen over ssh: images left after disable). Release
// now tries again; an image already gone is released; one that cannot be
// removed at all is an error, for Change to warn of.
func TestReleaseTriesAgain(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	transient := errors.New("error deleting lease: transport is closing")
	for _, c := range []struct {
		name    string
		errs    []error
		wantErr bool
		removes int
	}{
		{"once failed", []error{transient}, false, 2},
		{"gone already", []error{cerrdefs.ErrNotFound, cerrdefs.ErrNotFound}, false, 2}, // the tag, then the ID
		{"never removed", []error{transient, transient, transient}, true, releaseTries},
	} {
		d := &removingDaemon{errs: c.errs}
		r := Runner{API: d, Binary: bin}.Keeping()
		if _, err := r.image(context.Background()); err != nil {
			t.Fatal(err)
		}
		err := r.Release(context.Background())
		if (err != nil) != c.wantErr || d.removes != c.removes {
			t.Errorf("%s: Release = %v after %d removals, want error %v after %d", c.name, err, d.removes, c.wantErr, c.removes)
		}
	}
}

// ServerVersion says the daemon is of this machine's platform, so that
// probe and helper images are made of this plugin's own programs.
func (*removingDaemon) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: runtime.GOOS, Arch: runtime.GOARCH}, nil
}
