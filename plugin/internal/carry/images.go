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
)

// API is the daemon's API as the carrying uses it.
type API = client.APIClient

// imageItem is an image to carry: its tags, and the ids its files need.
type imageItem struct {
	Item
	id     string
	refs   []string
	needed uint64 // highest uid or gid + 1, once scanned
	holder string // the entry holding the highest id, for a refusal
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
		if probe.Ours(sum.Labels) {
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
		j := slices.IndexFunc(scans, func(s imagescan.Image) bool { return s.ID == img.id })
		if j < 0 {
			return fmt.Errorf("save images: %s is not in the daemon's save stream", img.Name)
		}
		s := scans[j]
		img.needed = s.Needed()
		img.holder = fmt.Sprintf("highest uid %d, gid %d", s.MaxUID, s.MaxGID)
		if len(s.Holders) > 0 {
			img.holder += ": /" + s.Holders[0].Path
		}
	}
	return nil
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
	start := time.Now()
	loadErr := p.load(ctx, api)
	p.say("loaded in %s", time.Since(start).Round(time.Millisecond))
	list, listErr := api.ImageList(ctx, client.ImageListOptions{})
	have := map[string]string{}
	for _, sum := range list.Items {
		for _, t := range sum.RepoTags {
			have[t] = sum.ID
		}
	}
	for i := range p.images {
		img := &p.images[i]
		img.Result, img.Note = Carried, ""
		for _, ref := range img.refs {
			if have[normalTag(ref)] == img.id || have[ref] == img.id {
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

func (p *Plan) load(ctx context.Context, api API) error {
	f, err := os.Open(p.archive)
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer f.Close()
	res, err := api.ImageLoad(ctx, bufio.NewReaderSize(f, 1<<20), client.ImageLoadWithQuiet(true))
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
