package carry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// API is the daemon's API as the carrying uses it.
type API = client.APIClient

// imageItem is an image to carry: its tags, and the ids its files need.
type imageItem struct {
	Item
	// id is the image's id in the old daemon's list; loaded gives the ids
	// the new daemon may list it by (imageLoadedIDs).
	id     string
	loaded []string
	// platforms is how many platforms the save holds of the image.
	platforms int
	refs      []string
	needed    uint64 // highest uid or gid + 1, once scanned
	holder    string // the entry holding the highest id, for a refusal
	// identity is the image's in the old daemon (identityOf); present
	// are the refs the new daemon has already as the same image, moved
	// those it has as another (findPresent).
	identity string
	present  []string
	moved    []string
}

// untagged is the tag docker lists for an image without one.
const untagged = "<none>:<none>"

// listImages finds the images to carry: those asked for, or every tagged
// image that is not the plugin's own (probe and helper images).
func (p *Plan) listImages(ctx context.Context, api API) error {
	list, err := api.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	if len(p.opts.ImageRefs) > 0 {
		for _, ref := range p.opts.ImageRefs {
			res, err := api.ImageInspect(ctx, ref)
			if err != nil {
				return fmt.Errorf("--keep-images %s: %w", ref, err)
			}
			refs := []string{ref}
			// An image named by its id is carried by its tags: a load
			// of an image saved by id leaves it untagged.
			if strings.HasPrefix(res.ID, "sha256:"+strings.TrimPrefix(ref, "sha256:")) {
				if refs = slices.DeleteFunc(slices.Clone(res.RepoTags), func(t string) bool { return t == untagged }); len(refs) == 0 {
					return fmt.Errorf("--keep-images %s: the image has no tag to carry it by (docker tag it first)", ref)
				}
			}
			p.addImage(res.ID, refs, res.Size)
		}
		return nil
	}
	untaggedCount := 0
	for _, sum := range list.Items {
		if sweep.Ours(sum.Labels) {
			continue
		}
		tags := slices.DeleteFunc(slices.Clone(sum.RepoTags), func(t string) bool { return t == untagged })
		if len(tags) == 0 {
			untaggedCount++
			continue
		}
		slices.Sort(tags)
		p.addImage(sum.ID, tags, sum.Size)
	}
	if untaggedCount > 0 {
		p.others = append(p.others, Item{Kind: Image, Name: fmt.Sprintf("%d untagged", untaggedCount), Result: LeftAlone,
			Note: "untagged images are not carried (tag one to carry it)"})
	}
	return nil
}

// addImage adds refs of an image, to the same item when the image is
// there already.
func (p *Plan) addImage(id string, refs []string, bytes int64) {
	for i := range p.images {
		if p.images[i].id == id {
			p.images[i].refs = append(p.images[i].refs, refs...)
			p.images[i].Name = strings.Join(p.images[i].refs, ", ")
			return
		}
	}
	p.images = append(p.images, imageItem{Item: Item{Kind: Image, Name: strings.Join(refs, ", "), Bytes: bytes}, id: id, refs: refs})
}

// saveImages streams one `docker save` of every image into a temp file,
// scanning each layer for its highest ids as it passes.
func (p *Plan) saveImages(ctx context.Context, api API) (err error) {
	var refs []string
	for _, img := range p.images {
		refs = append(refs, img.refs...)
	}
	f, err := os.CreateTemp(p.opts.TempDir, "docker-userns-images-*.tar")
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	p.archive = f.Name()
	defer func() { err = errors.Join(err, f.Close()) }()
	if free, ok := freeBytes(f); ok {
		if free < p.imageBytes() {
			return fmt.Errorf("save images: they take up to %s, and %s has %s free (set TMPDIR to a roomier place)", Size(p.imageBytes()), p.archive, Size(free))
		}
	}
	p.say("saving %d image(s) (%s) from the daemon into %s", len(p.images), Size(p.imageBytes()), p.archive)
	start := time.Now()
	rc, err := api.ImageSave(ctx, refs)
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	defer rc.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	tee := io.TeeReader(rc, w)
	scans, err := imagescan.ScanSaveStream(ctx, tee, imagescan.SourceDaemon)
	if err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	// The scan stops at the end of the tar; the rest is padding.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("save images: %w", err)
	}
	p.say("saved in %s", time.Since(start).Round(time.Millisecond))
	for i := range p.images {
		img := &p.images[i]
		j := slices.IndexFunc(scans, img.savedAs)
		if j < 0 {
			return fmt.Errorf("save images: %s is not in the daemon's save stream", img.Name)
		}
		s := scans[j]
		img.loaded, img.platforms = loadedIDs(s), s.Platforms
		img.needed = s.Needed()
		img.holder = fmt.Sprintf("highest uid %d, gid %d", s.MaxUID, s.MaxGID)
		if len(s.Holders) > 0 {
			img.holder += ": /" + s.Holders[0].Path
		}
	}
	return p.inspectIdentities(ctx, api)
}

// savedAs is true for the scan of the image in the save stream. A
// graphdriver daemon lists an image by its config's digest, the scan's ID;
// the containerd image store by the digest of its manifest or index
// (Docker 29's default store: daemon/containerd/image_exporter.go,
// ExportImage, at v2.0.0-beta.24, exports each name with its target, and
// containerd's archive exporter writes index.json and a manifest.json
// whose entry, with the RepoTags, names one platform's config and layers).
// So the scan is found by the id or, failing that, by a tag.
func (img *imageItem) savedAs(s imagescan.Image) bool {
	if s.ID == img.id || slices.Contains(s.Targets, img.id) {
		return true
	}
	for _, ref := range img.refs {
		if slices.Contains(s.Tags, normalTag(ref)) || slices.Contains(s.Tags, ref) {
			return true
		}
	}
	return false
}

// listedAs is true when a daemon's list, tag to id, has ref name this
// image.
func (img *imageItem) listedAs(have map[string]string, ref string) (string, bool) {
	for _, tag := range []string{normalTag(ref), ref} {
		if id, ok := have[tag]; ok && (id == img.id || slices.Contains(img.loaded, id)) {
			return id, true
		}
	}
	return "", false
}

// platformNote says what a multi-platform image became in a daemon that
// lists it by id: by its config's digest, a graphdriver store loaded only
// the platform manifest.json names (containerd's exporter puts the
// daemon's own platform first: ExportImage, archive.WithPlatform).
func (img *imageItem) platformNote(id string) string {
	if img.platforms < 2 || len(img.loaded) == 0 || id != img.loaded[0] {
		return ""
	}
	return fmt.Sprintf("multi-platform: carried as the one of its %d saved platforms that docker save puts first (the daemon's own); the rest stay in the old store", img.platforms)
}

// loadedIDs are the ids a daemon may list an image by once it loads the
// save: a graphdriver store the config's digest (it reads manifest.json:
// daemon/internal/image/tarexport/load.go), the containerd store the
// digest index.json names it by.
func loadedIDs(s imagescan.Image) []string {
	return append([]string{s.ID}, s.Targets...)
}

func (p *Plan) imageBytes() int64 {
	var n int64
	for _, img := range p.images {
		n += img.Bytes
	}
	return n
}

// loadImages loads the saved images into the new daemon and marks each
// carried when all its tags name it there.
func (p *Plan) loadImages(ctx context.Context, api API) {
	p.say("loading %d image(s) (%s) into the new data root", len(p.images), Size(p.imageBytes()))
	p.findPresent(ctx, api)
	present, all := p.presentNames()
	var loadErr error
	if all {
		p.say("all already there as they were: nothing to load")
	} else {
		start := time.Now()
		loadErr = p.load(ctx, api, present)
		p.say("loaded in %s", time.Since(start).Round(time.Millisecond))
	}
	list, listErr := api.ImageList(ctx, client.ImageListOptions{})
	have := map[string]string{}
	for _, sum := range list.Items {
		for _, t := range sum.RepoTags {
			have[t] = sum.ID
		}
	}
	for i := range p.images {
		img := &p.images[i]
		img.Result, img.Note = Carried, img.presentNote()
		for _, ref := range img.refs {
			if slices.Contains(img.present, ref) {
				continue
			}
			if id, ok := img.listedAs(have, ref); ok {
				img.Note = joinNotes(img.Note, img.platformNote(id))
				continue
			}
			img.Result = NotCarried
			switch {
			case loadErr != nil:
				img.Note = loadErr.Error()
			case listErr != nil:
				img.Note = "list images: " + listErr.Error()
			default:
				img.Note = ref + " is not in the new data root after the load"
			}
			break
		}
	}
}

// load loads the saved images but for the names of skip (full names).
func (p *Plan) load(ctx context.Context, api API, skip []string) error {
	f, err := os.Open(p.archive)
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer f.Close()
	var archive io.Reader = bufio.NewReaderSize(f, 1<<20)
	if len(skip) > 0 {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func(r io.Reader) {
			defer close(done)
			pw.CloseWithError(withoutNames(r, pw, skip))
		}(archive)
		// Closing the reader ends the copy when the load stops reading.
		defer func() { pr.Close(); <-done }()
		archive = pr
	}
	res, err := api.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer res.Close()
	if err := probe.StreamError(res); err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	return nil
}

// normalTag is ref as docker lists it: with ":latest" when it has no tag
// (a name given to --keep-images as "alpine").
func normalTag(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref
	}
	return ref + ":latest"
}

// presentNote says which tags the new daemon had already as the same
// image (left as they were, ids kept), and which named another image
// there and now name this one.
func (img *imageItem) presentNote() string {
	var note string
	if len(img.present) > 0 {
		note = "already there, unchanged: " + strings.Join(img.present, ", ") + " kept as it was (same id)"
	}
	if len(img.moved) > 0 {
		note = joinNotes(note, "changed while in the other data root: "+strings.Join(img.moved, ", ")+" now names the image carried, as docker load does")
	}
	return note
}

func joinNotes(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}
