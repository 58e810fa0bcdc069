package helper

import (
	"context"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// keptImage is one helper image shared by several calls: importing the
// plugin's 20 MB binary is most of a helper call's cost.
type keptImage struct {
	mu  sync.Mutex
	img probe.Image
}

// Keeping returns a runner whose calls share one helper image, imported by
// the first call; Release removes it. A call that finds it gone (a restart
// moved the daemon's data root, as remapping does) imports it again.
//
// Only calls made after the last restart of a change may share it: an
// image left in the data root a restart leaves behind is stranded there,
// and the host agent waits for the arming helper's image to be removed
// before it restarts.
func (r Runner) Keeping() Runner {
	r.kept = &keptImage{}
	return r
}

// Release removes the kept image, if any; the next call imports a new one.
// A removal that fails is tried again (releaseTries): an image left in a
// data root the daemon leaves is out of the sweep's reach until the next
// switch. One already gone is released.
func (r Runner) Release(ctx context.Context) error {
	if r.kept == nil {
		return nil
	}
	r.kept.mu.Lock()
	img := r.kept.img
	r.kept.img = probe.Image{}
	r.kept.mu.Unlock()
	if err := removeImage(ctx, img); err != nil {
		return fmt.Errorf("helper: %w", err)
	}
	return nil
}

// removeImage removes a helper image, trying again (releaseTries) a
// removal that failed; one already gone is removed. The host agent waits
// for it before it restarts the daemon.
func removeImage(ctx context.Context, img probe.Image) error {
	ctx = context.WithoutCancel(ctx)
	err := img.Remove(ctx)
	for try := 1; err != nil && !cerrdefs.IsNotFound(err); try++ {
		if try == releaseTries {
			return err
		}
		time.Sleep(time.Duration(try) * 500 * time.Millisecond)
		err = img.Remove(ctx)
	}
	return nil
}

// releaseTries is how often a helper image's removal is tried.
const releaseTries = 3

// image is the kept image, imported now if there is none, or a new image
// for this call alone.
func (r Runner) image(ctx context.Context) (probe.Image, error) {
	if r.kept == nil {
		return probe.Build(ctx, r.API, r.Binary)
	}
	r.kept.mu.Lock()
	defer r.kept.mu.Unlock()
	if r.kept.img.Ref == "" {
		img, err := probe.Build(ctx, r.API, r.Binary)
		if err != nil {
			return probe.Image{}, err
		}
		r.kept.img = img
	}
	return r.kept.img, nil
}

// forget drops img as the kept image once the daemon no longer has it.
func (k *keptImage) forget(img probe.Image) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.img.Ref == img.Ref {
		k.img = probe.Image{}
	}
}
