// Package carry keeps a host's images and named volumes across the switch
// of the daemon's data root that turning remapping on or off makes
// (<data-root> <-> <data-root>/<uid>.<gid>: moby daemon/daemon_unix.go
// setupDaemonRoot, v26.1.5 and v28.5.2; the old root is left as it was).
//
// Everything goes through the daemon's API; nothing is written into a data
// root behind the daemon's back, and nothing is ever deleted from the old
// root. Before the restart (Prepare, on the old daemon):
//
//   - the images are saved in one `docker save` stream (shared layers once)
//     into a temp file on this machine, and scanned for their highest
//     uid and gid as the stream passes (imagescan.ScanSaveStream);
//   - the named volumes of the local driver are scanned in one container
//     of this binary, which also reports the old daemon's id maps and the
//     free space of its data root.
//
// Check refuses what the new map cannot hold, naming it. After the
// confirmed restart (Carry, on the new daemon) the temp file is loaded
// (the daemon shifts file owners into its own map as it extracts: moby
// go-archive createTarFile -> IdentityMapping.ToHost; save had turned them
// into container ids: tarAppender.addTarFile -> ToContainer), and the
// volumes are created again and copied in one container that mounts the
// old volume directories read-only and the new volumes, shifting each
// owner: host id -> container id by the old map -> host id by the new one.
package carry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
)

// Options say what to carry.
type Options struct {
	// Images carries images: those of ImageRefs, or every tagged image
	// when it is empty.
	Images    bool
	ImageRefs []string
	// Volumes carries the named volumes of the local driver.
	Volumes bool
	// Binary is the static plugin binary the scan and copy containers run.
	Binary string
	// TempDir holds the saved images ("": os.TempDir()).
	TempDir  string
	Progress io.Writer
}

// Any is true when something is to be carried.
func (o Options) Any() bool { return o.Images || o.Volumes }

// Kind is what an item is.
type Kind string

// The kinds of items.
const (
	Image  Kind = "image"
	Volume Kind = "volume"
)

// Result is what became of an item.
type Result string

// The results of an item.
const (
	Carried    Result = "carried"
	NotCarried Result = "not carried"
	// LeftAlone: not ours to carry (another volume driver, an anonymous
	// volume, an untagged image); it stays in the old root.
	LeftAlone  Result = "left alone"
	WouldCarry Result = "would carry"
)

// Item is one image or volume and what became of it.
type Item struct {
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	Files  int64  `json:"files,omitempty"`
	Result Result `json:"result"`
	Note   string `json:"note,omitempty"`
}

// Report is what carrying did, or would do.
type Report struct {
	Items []Item `json:"items"`
	// Note says why nothing was carried, when nothing was.
	Note string `json:"note,omitempty"`
	// ExpectedSeconds is, for a dry run, how long carrying the items is
	// expected to take (Expect).
	ExpectedSeconds int64 `json:"expectedSeconds,omitempty"`
}

// Missing are the items that should have been carried and were not.
func (r *Report) Missing() []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Result == NotCarried {
			out = append(out, it)
		}
	}
	return out
}

// IncompleteError says a confirmed change left some items behind in the
// old root (where they still are).
type IncompleteError struct {
	Action  string
	Missing []Item
}

func (e *IncompleteError) Error() string {
	var names []string
	for _, it := range e.Missing {
		names = append(names, fmt.Sprintf("%s %s (%s)", it.Kind, it.Name, it.Note))
	}
	return fmt.Sprintf("%s: done, but %d item(s) not carried, still in the old data root: %s", e.Action, len(e.Missing), strings.Join(names, "; "))
}

// Plan is what Prepare found on the old daemon, ready to be carried.
type Plan struct {
	opts    Options
	images  []imageItem
	volumes []volumeItem
	others  []Item // left alone
	archive string // the saved images
	// oldRoot is the old daemon's data root: a "switch" that kept it (a
	// wider map for the same user) has nothing to carry.
	oldRoot string
	// from are the old daemon's maps, read by the scan container.
	fromUID, fromGID idmap.Map
	freeRoot         int64 // bytes free where the data root is; -1 unknown
	dryRun           bool
}

// Prepare lists what to carry on the old daemon and, unless dryRun, saves
// the images and scans the volumes. Close removes the saved images.
func Prepare(ctx context.Context, api API, opts Options, dryRun bool) (*Plan, error) {
	p := &Plan{opts: opts, freeRoot: -1, dryRun: dryRun}
	info, err := api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("ask the daemon its data root: %w", err)
	}
	p.oldRoot = info.Info.DockerRootDir
	if opts.Images {
		if err := p.listImages(ctx, api); err != nil {
			return nil, err
		}
	}
	if opts.Volumes {
		if err := p.listVolumes(ctx, api); err != nil {
			return nil, err
		}
	}
	if err := p.scanVolumes(ctx, api); err != nil {
		return nil, err
	}
	if dryRun || len(p.images) == 0 {
		return p, nil
	}
	if err := p.saveImages(ctx, api); err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

// Close removes the saved images.
func (p *Plan) Close() error {
	if p == nil || p.archive == "" {
		return nil
	}
	err := os.Remove(p.archive)
	p.archive = ""
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove saved images: %w", err)
	}
	return nil
}

// Needed is how many ids a map must hold for everything to be carried.
func (p *Plan) Needed() uint64 {
	var n uint64 = 1
	for _, img := range p.images {
		n = max(n, img.needed)
	}
	for _, v := range p.volumes {
		n = max(n, v.needed())
	}
	return n
}

// Check refuses, naming them, the items whose files hold ids a map of
// mapped ids cannot hold (0: no limit, as for a daemon that does not
// remap), and a data root without room for the copies.
func (p *Plan) Check(mapped uint64) error {
	var tooWide []string
	if mapped > 0 {
		for _, img := range p.images {
			if img.needed > mapped {
				tooWide = append(tooWide, fmt.Sprintf("image %s (%s)", img.Name, img.holder))
			}
		}
		for _, v := range p.volumes {
			if v.needed() > mapped {
				tooWide = append(tooWide, fmt.Sprintf("volume %s (%s)", v.Name, v.holder()))
			}
		}
	}
	if len(tooWide) > 0 {
		return fmt.Errorf("cannot carry %s: the new map holds %d ids (0 to %d); pass a wider --size (or --size auto), or leave them out (--keep-images=IMAGE,...; no --keep-volumes)",
			strings.Join(tooWide, ", "), mapped, mapped-1)
	}
	var outside []string
	for _, v := range p.volumes {
		if v.outside != "" {
			outside = append(outside, fmt.Sprintf("volume %s (%s)", v.Name, v.outside))
		}
	}
	if len(outside) > 0 {
		return fmt.Errorf("cannot carry %s: owners outside the daemon's map (uid %s; gid %s), which its containers see as nobody (the map changed in place since, or the files were written from the host); chown them into the map or leave the volumes out (no --keep-volumes)",
			strings.Join(outside, ", "), p.fromUID, p.fromGID)
	}
	if need := p.bytes(); p.freeRoot >= 0 && need > p.freeRoot {
		return fmt.Errorf("cannot carry %s into the new data root: its file system has %s free", Size(need), Size(p.freeRoot))
	}
	return nil
}

func (p *Plan) bytes() int64 { return p.imageBytes() + p.volumeBytes() }

func (p *Plan) volumeBytes() int64 {
	var n int64
	for _, v := range p.volumes {
		n += v.Bytes
	}
	return n
}

// Skipped reports that nothing was carried, and why (they are all where
// they were).
func (p *Plan) Skipped(why string) *Report {
	return &Report{Items: p.items(NotCarried, why), Note: why}
}

// Unchanged reports that there was nothing to carry: the daemon kept its
// data root (why says how).
func Unchanged(why string) *Report { return &Report{Note: why} }

// DryRun is what Carry would do, and how long it is expected to take.
func (p *Plan) DryRun() *Report {
	r := &Report{Items: p.items(WouldCarry, "")}
	r.ExpectedSeconds = int64(math.Ceil(Expect(p.imageBytes(), p.volumeBytes()).Seconds()))
	return r
}

// The rates a dry run expects carrying to go at, in bytes a second. They
// are measured here, not asked of the daemon: its own rate would take a
// save of real bytes, what a dry run is there to avoid; another machine's
// disks differ, and the output says so. ImageRate is image bytes carried
// a second by the plugin's own save before the restart and load after it:
// make bench row (g) on the project's 2-core test machine (Docker 20.10 in
// DinD, a random 1 GiB image, 1.07 GB as docker counts it, carried in
// 31.6 s, median of 3 at a load of 14). VolumeRate is volume bytes through
// CopyTree, each byte read and written once with its owner shifted (the
// copy action on that machine's disk: 1 GiB in one file 8.4 s, 200 MB in
// 2000 files 1.7 s).
const (
	ImageRate  = 34_000_000
	VolumeRate = 120_000_000
)

// Expect is the time carrying images and volumes of these sizes takes
// at ImageRate and VolumeRate (the restart between save and load aside).
func Expect(imageBytes, volumeBytes int64) time.Duration {
	return time.Duration((float64(imageBytes)/ImageRate + float64(volumeBytes)/VolumeRate) * float64(time.Second))
}

// items lists the plan's items, with result and note when result is set,
// then those left alone.
func (p *Plan) items(result Result, note string) []Item {
	var out []Item
	for _, img := range p.images {
		out = append(out, img.Item)
	}
	for _, v := range p.volumes {
		out = append(out, v.Item)
	}
	if result != "" {
		for i := range out {
			out[i].Result, out[i].Note = result, note
		}
	}
	return append(out, p.others...)
}

// Carry loads the saved images into the new daemon and copies the volumes
// into it, with owners shifted into toUID and toGID (the new daemon's maps;
// idmap.Identity when it does not remap). What could not be carried is
// in the report, named with the reason; it is still in the old root.
func (p *Plan) Carry(ctx context.Context, api API, toUID, toGID idmap.Map) *Report {
	// Carrying a volume onto itself would empty it.
	info, err := api.Info(ctx, client.InfoOptions{})
	switch {
	case err != nil:
		return p.Skipped("ask the new daemon its data root: " + err.Error())
	case info.Info.DockerRootDir == p.oldRoot:
		return Unchanged("the data root did not change: " + p.oldRoot)
	}
	if len(p.images) > 0 {
		p.loadImages(ctx, api)
	}
	if len(p.volumes) > 0 {
		p.copyVolumes(ctx, api, toUID, toGID)
	}
	return &Report{Items: p.items("", "")}
}

func (p *Plan) say(format string, args ...any) {
	if p.opts.Progress != nil {
		fmt.Fprintf(p.opts.Progress, format+"\n", args...)
	}
}

// Size words a byte count as docker does (decimal units).
func Size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGT"[i-1])
}
