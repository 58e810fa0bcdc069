package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// imagesUnasked is a daemon that fails the test when it is asked for its
// images other than by the sweep every command starts with (which lists
// only what carries its labels).
type imagesUnasked struct {
	*fakeDaemon
	t *testing.T
}

func (d imagesUnasked) ImageList(ctx context.Context, opts client.ImageListOptions) (client.ImageListResult, error) {
	if len(opts.Filters["label"]) == 0 {
		d.t.Errorf("the daemon was asked for its images (%+v) before --restart was checked", opts)
	}
	return d.fakeDaemon.ImageList(ctx, opts)
}

// TestBadRestartSavesNoImage: --restart is checked before any work. Before,
// it was parsed on each host once --keep-images had listed and saved the
// images (seen on d74ca65 through the docker CLI: GET /images/json, then
// "ask the daemon its data root" failed instead of naming --restart).
// Through the daemon (a fake one), so that a regression can never reach
// this machine's files.
func TestBadRestartSavesNoImage(t *testing.T) {
	c := newFakeCLI(t, imagesUnasked{fakeDaemon: &fakeDaemon{}, t: t})
	err := c.run("enable", "--keep-images", "--restart", "bogus", "--via", "daemon", "agent")
	if err == nil || !strings.Contains(err.Error(), `invalid --restart "bogus"`) {
		t.Errorf("enable --keep-images --restart bogus: want a refusal naming --restart, got %v\n%s", err, c.err.String())
	}
}

// TestBadLayoutExitsBeforeTheLock: --layout is checked before any work.
// On d74ca65 remap.Enable parsed it under the host lock: with the lock held
// by another run, enable waited for it (30 s) and never named the layout
// (remap's parseOptions now checks it before the lock too).
func TestBadLayoutExitsBeforeTheLock(t *testing.T) {
	root := t.TempDir()
	lock := filepath.Join(root, "var/lib/docker-userns/lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The command opens the lock file anew: another open file, which
	// flock sets against this one even in one process.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	c := newFakeCLI(t, &fakeDaemon{})
	start := time.Now()
	err = c.run("enable", "--root", root, "--restart", "none", "--layout", "bogus", "agent")
	if err == nil || !strings.Contains(err.Error(), `layout "bogus": want owner, contiguous or isolated`) || strings.Contains(c.err.String(), "waiting for another") {
		t.Errorf("enable --layout bogus with the lock held: want a refusal naming the layout, without waiting for the lock; got %v after %s\n%s", err, time.Since(start), c.err.String())
	}
}
