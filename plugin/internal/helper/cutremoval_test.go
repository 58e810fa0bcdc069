package helper

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// untaggingDaemon deletes images in moby's order (daemon/images/
// image_delete.go at v28.5.2): a removal by tag drops the tag first, then
// deletes the image; its first deletion is cut short after the untag, as a
// daemon restarted meanwhile cuts it ("error deleting lease"), which leaves
// the image untagged. A removal by ID without force deletes an untagged
// image. agentName is what the host agent inspects; agentSaw is whether
// the agent still saw the image while its removal was cut short.
type untaggingDaemon struct {
	*removingDaemon
	tags      map[string]string // tag -> ID
	ids       map[string]bool
	cut       bool
	agentName string
	agentSaw  bool
}

const untaggedID = "sha256:2f233c072858"

func (d *untaggingDaemon) ImageImport(_ context.Context, src client.ImageImportSource, ref string, _ client.ImageImportOptions) (client.ImageImportResult, error) {
	_, _ = io.Copy(io.Discard, src.Source)
	d.tags[ref], d.ids[untaggedID] = untaggedID, true
	return io.NopCloser(strings.NewReader(`{"status":"` + untaggedID + `"}` + "\n")), nil
}

func (d *untaggingDaemon) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if _, ok := d.tags[ref]; ok || d.ids[ref] {
		return client.ImageInspectResult{}, nil
	}
	return client.ImageInspectResult{}, cerrdefs.ErrNotFound
}

func (d *untaggingDaemon) ImageRemove(ctx context.Context, ref string, opts client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	d.removes++
	if id, ok := d.tags[ref]; ok {
		delete(d.tags, ref)
		if !d.cut {
			d.cut = true
			_, err := d.ImageInspect(ctx, d.agentName)
			d.agentSaw = err == nil
			return client.ImageRemoveResult{}, errors.New("error deleting lease: Canceled: grpc: the client connection is closing: context canceled")
		}
		delete(d.ids, id)
		return client.ImageRemoveResult{}, nil
	}
	if !d.ids[ref] {
		return client.ImageRemoveResult{}, cerrdefs.ErrNotFound
	}
	for _, id := range d.tags {
		if id == ref && !opts.Force {
			return client.ImageRemoveResult{}, cerrdefs.ErrConflict
		}
	}
	delete(d.ids, ref)
	return client.ImageRemoveResult{}, nil
}

// TestHelperImageRemovalCutShortAfterTheUntag is the <none>:<none> image
// left on a host after a through-the-daemon enable at load 20 (28.5): the
// host agent saw the helper image's tag gone, restarted the daemon while
// the image itself was still being deleted, and the deletion, cut short,
// left it untagged in the data root. The agent must name the image by
// what lasts until it is deleted (its ID), and a removal tried again must
// delete the untagged image rather than take the missing tag for done.
func TestHelperImageRemovalCutShortAfterTheUntag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &untaggingDaemon{removingDaemon: &removingDaemon{}, tags: map[string]string{}, ids: map[string]bool{}}
	r := Runner{API: d, Binary: bin}.Keeping()
	img, err := r.image(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range r.runOptions(img, nil).Env {
		if name, ok := strings.CutPrefix(env, EnvImage+"="); ok {
			d.agentName = name
		}
	}
	if err := r.Release(context.Background()); err != nil {
		t.Errorf("Release: %v", err)
	}
	if !d.cut {
		t.Fatal("the test daemon's removal was never cut short")
	}
	if !d.agentSaw {
		t.Errorf("the host agent, inspecting %q, saw the image gone once its tag was, before the image was deleted", d.agentName)
	}
	if len(d.ids) != 0 {
		t.Errorf("image left untagged after Release (%d removals): %v", d.removes, d.ids)
	}
}
