package imagescan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// maxDocument bounds the JSON documents (manifest, index, configs) kept in
// memory while a docker save stream passes.
const maxDocument = 8 << 20

// blobStore is a docker save tarball or an OCI layout, seen by archive path.
type blobStore interface {
	// document returns a small file (JSON) by its path in the archive.
	document(name string) ([]byte, error)
	// has tells whether the archive holds name.
	has(name string) bool
	// scanLayers scans the named layer blobs.
	scanLayers(ctx context.Context, names []string) (map[string]LayerScan, error)
}

// errNotInArchive is returned for a path the archive does not hold.
var errNotInArchive = errors.New("not in archive")

// dockerManifest is one entry of a docker save manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
}

type ociIndex struct {
	Manifests []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	MediaType string          `json:"mediaType"`
	Config    ociDescriptor   `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
	Manifests []ociDescriptor `json:"manifests"` // when the blob is an index
}

// plannedImage is an image whose layers are known by archive path.
type plannedImage struct {
	name, id string
	paths    []string
	digests  []string
	tags     []string
	// target is the digest index.json lists the image by.
	target string
}

// readImages lists the images in an archive (manifest.json first, as docker
// load does; else the OCI index.json), scans all their layers once, and
// folds each image's layers.
func readImages(ctx context.Context, st blobStore, src Source) ([]Image, error) {
	var plan []plannedImage
	var err error
	switch {
	case st.has("manifest.json"):
		plan, err = planDockerSave(st)
	case st.has("index.json"):
		plan, err = planOCI(st)
	default:
		return nil, errors.New("read archive: no manifest.json or index.json: not a docker save tarball or OCI layout")
	}
	if err != nil {
		return nil, err
	}
	targets := ociTargets(st)
	if len(plan) == 0 {
		return nil, errors.New("read archive: it holds no image")
	}
	var all []string
	for _, p := range plan {
		all = append(all, p.paths...)
	}
	scans, err := st.scanLayers(ctx, all)
	if err != nil {
		return nil, err
	}
	var images []Image
	for _, p := range plan {
		layers := make([]layerResult, len(p.paths))
		for i, lp := range p.paths {
			layers[i] = layerResult{digest: p.digests[i], scan: scans[lp]}
		}
		img := newImage(p.name, src, p.id, layers)
		img.Tags, img.Targets = p.tags, targets.of[p.id]
		for _, t := range img.Targets {
			img.Platforms = max(img.Platforms, targets.images[t])
		}
		images = append(images, img)
	}
	return images, nil
}

func planDockerSave(st blobStore) ([]plannedImage, error) {
	data, err := st.document("manifest.json")
	if err != nil {
		return nil, err
	}
	var manifests []dockerManifest
	if err := json.Unmarshal(data, &manifests); err != nil {
		return nil, fmt.Errorf("read manifest.json: %w", err)
	}
	var plan []plannedImage
	for _, m := range manifests {
		p := plannedImage{paths: m.Layers, id: configDigest(m.Config)}
		// The config's diff ids name the layers; without it, the paths do.
		var cfg struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if data, err := st.document(m.Config); err == nil && json.Unmarshal(data, &cfg) == nil && len(cfg.RootFS.DiffIDs) == len(m.Layers) {
			p.digests = cfg.RootFS.DiffIDs
		} else {
			p.digests = m.Layers
		}
		p.name, p.tags = p.id, m.RepoTags
		if len(m.RepoTags) > 0 {
			p.name = m.RepoTags[0]
		}
		for _, l := range m.Layers {
			if !st.has(l) {
				return nil, fmt.Errorf("read manifest.json: layer %s: %w", l, errNotInArchive)
			}
		}
		plan = append(plan, p)
	}
	return plan, nil
}

// configDigest turns "blobs/sha256/HEX" or "HEX.json" into "sha256:HEX".
func configDigest(p string) string {
	if alg, hex, ok := strings.Cut(strings.TrimPrefix(p, "blobs/"), "/"); ok && strings.HasPrefix(p, "blobs/") {
		return alg + ":" + hex
	}
	return "sha256:" + strings.TrimSuffix(path.Base(p), ".json")
}

func blobPath(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return "blobs/" + alg + "/" + hex
}

func planOCI(st blobStore) ([]plannedImage, error) {
	data, err := st.document("index.json")
	if err != nil {
		return nil, err
	}
	var idx ociIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("read index.json: %w", err)
	}
	var plan []plannedImage
	var walk func(descs []ociDescriptor, name, top string, depth int) error
	walk = func(descs []ociDescriptor, name, top string, depth int) error {
		if depth > 4 {
			return errors.New("read index.json: indexes nested too deep")
		}
		for _, d := range descs {
			n, t := name, top
			if depth == 0 {
				t = d.Digest
			}
			if a := d.Annotations["io.containerd.image.name"]; a != "" {
				n = a
			} else if a := d.Annotations["org.opencontainers.image.ref.name"]; a != "" && n == "" {
				n = a
			}
			bp := blobPath(d.Digest)
			// An index may name platforms whose blobs were not saved.
			if depth > 0 && !st.has(bp) {
				continue
			}
			data, err := st.document(bp)
			if err != nil {
				return fmt.Errorf("read manifest %s: %w", d.Digest, err)
			}
			var m ociManifest
			if err := json.Unmarshal(data, &m); err != nil {
				return fmt.Errorf("read manifest %s: %w", d.Digest, err)
			}
			if len(m.Manifests) > 0 {
				if err := walk(m.Manifests, n, t, depth+1); err != nil {
					return err
				}
				continue
			}
			if m.Config.Digest == "" {
				continue // an attestation or other artifact, not an image
			}
			p := plannedImage{name: n, id: m.Config.Digest, target: t}
			if p.name == "" {
				p.name = d.Digest
			}
			for _, l := range m.Layers {
				p.paths = append(p.paths, blobPath(l.Digest))
				p.digests = append(p.digests, l.Digest)
			}
			plan = append(plan, p)
		}
		return nil
	}
	return plan, walk(idx.Manifests, "", "", 0)
}

// ociIndexed is what an archive's index.json says of its images: the
// digests it lists each image config by, and how many image configs each
// of those digests holds (one per platform saved).
type ociIndexed struct {
	of     map[string][]string
	images map[string]int
}

// ociTargets reads index.json's targets; nothing when the archive has no
// index.json or it cannot be read (a legacy docker save).
func ociTargets(st blobStore) ociIndexed {
	out := ociIndexed{of: map[string][]string{}, images: map[string]int{}}
	if !st.has("index.json") {
		return out
	}
	plan, err := planOCI(st)
	if err != nil {
		return out
	}
	for _, p := range plan {
		if !slices.Contains(out.of[p.id], p.target) {
			out.of[p.id] = append(out.of[p.id], p.target)
			out.images[p.target]++
		}
	}
	return out
}

// streamStore is a docker save stream read once: every blob that is not a
// JSON document was scanned as a layer as it passed, since manifest.json may
// come after the layers and layers are never buffered.
type streamStore struct {
	docs  map[string][]byte
	scans map[string]LayerScan
	errs  map[string]error
	links archiveLinks
}

// ScanSaveStream reads a `docker save` stream (legacy or OCI shape) in one
// pass and returns each image in it.
func ScanSaveStream(ctx context.Context, r io.Reader, src Source) ([]Image, error) {
	st := &streamStore{docs: map[string][]byte{}, scans: map[string]LayerScan{}, errs: map[string]error{}, links: archiveLinks{}}
	tr := tar.NewReader(r)
	br := bufio.NewReaderSize(nil, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read image archive: %w", err)
		}
		name := cleanName(hdr.Name)
		if st.links.add(name, hdr) || hdr.Typeflag != tar.TypeReg {
			continue
		}
		br.Reset(tr)
		magic, err := br.Peek(6)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read image archive %s: %w", name, err)
		}
		if len(magic) > 0 && (magic[0] == '{' || magic[0] == '[') && hdr.Size <= maxDocument {
			data, err := io.ReadAll(br)
			if err != nil {
				return nil, fmt.Errorf("read image archive %s: %w", name, err)
			}
			st.docs[name] = data
			continue
		}
		scan, err := scanDecompressed(br, magic)
		if err != nil {
			// Only an error if an image names this blob as a layer.
			st.errs[name] = err
			continue
		}
		st.scans[name] = scan
	}
	return readImages(ctx, st, src)
}

func cleanName(n string) string { return path.Clean(strings.TrimLeft(n, "/")) }

func (s *streamStore) resolve(name string) string { return s.links.resolve(name) }

// archiveLinks are an archive's symbolic and hard links, member to target:
// a member read by a link name is read from its target.
type archiveLinks map[string]string

// add records hdr when it is a link and says whether it was.
func (l archiveLinks) add(name string, hdr *tar.Header) bool {
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		l[name] = cleanName(path.Join(path.Dir(name), hdr.Linkname))
	case tar.TypeLink:
		l[name] = cleanName(hdr.Linkname)
	default:
		return false
	}
	return true
}

// resolve follows links from name, at most 16, as a kernel bounds a chain.
func (l archiveLinks) resolve(name string) string {
	name = cleanName(name)
	for range 16 {
		t, ok := l[name]
		if !ok {
			break
		}
		name = t
	}
	return name
}

func (s *streamStore) has(name string) bool {
	n := s.resolve(name)
	_, d := s.docs[n]
	_, l := s.scans[n]
	_, e := s.errs[n]
	return d || l || e
}

func (s *streamStore) document(name string) ([]byte, error) {
	if d, ok := s.docs[s.resolve(name)]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("read %s: %w", name, errNotInArchive)
}

func (s *streamStore) scanLayers(_ context.Context, names []string) (map[string]LayerScan, error) {
	out := map[string]LayerScan{}
	for _, name := range names {
		n := s.resolve(name)
		if scan, ok := s.scans[n]; ok {
			out[name] = scan
			continue
		}
		if err, ok := s.errs[n]; ok {
			return nil, fmt.Errorf("scan layer %s: %w", name, err)
		}
		// A layer whose first entry starts with '{' was kept as a document.
		if d, ok := s.docs[n]; ok {
			scan, err := ScanLayer(bytes.NewReader(d))
			if err != nil {
				return nil, fmt.Errorf("scan layer %s: %w", name, err)
			}
			out[name] = scan
			continue
		}
		return nil, fmt.Errorf("scan layer %s: %w", name, errNotInArchive)
	}
	return out, nil
}

// tarFileStore is a docker save tarball on disk: one pass over its headers
// (seeking past the contents) finds every member, then the layers are
// scanned side by side straight from the file.
type tarFileStore struct {
	f       *os.File
	members map[string]member
	links   archiveLinks
	workers int
}

type member struct{ off, size int64 }

// openTarFile indexes the members of a tarball.
func openTarFile(f *os.File, workers int) (*tarFileStore, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sb := newSeekBuffer(f, st.Size())
	tr := tar.NewReader(sb)
	s := &tarFileStore{f: f, members: map[string]member{}, links: archiveLinks{}, workers: workers}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		name := cleanName(hdr.Name)
		if s.links.add(name, hdr) {
			continue
		}
		if hdr.Typeflag == tar.TypeReg {
			// archive/tar reads headers block by block, so the offset
			// right after Next is where the member's bytes start.
			s.members[name] = member{off: sb.off, size: hdr.Size}
		}
	}
}

func (s *tarFileStore) lookup(name string) (member, bool) {
	m, ok := s.members[s.links.resolve(name)]
	return m, ok
}

func (s *tarFileStore) has(name string) bool { _, ok := s.lookup(name); return ok }

func (s *tarFileStore) document(name string) ([]byte, error) {
	m, ok := s.lookup(name)
	if !ok {
		return nil, fmt.Errorf("read %s: %w", name, errNotInArchive)
	}
	if m.size > maxDocument {
		return nil, fmt.Errorf("read %s: %d bytes is too big for a JSON document", name, m.size)
	}
	data := make([]byte, m.size)
	if _, err := s.f.ReadAt(data, m.off); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

func (s *tarFileStore) scanLayers(ctx context.Context, names []string) (map[string]LayerScan, error) {
	return scanAll(ctx, names, s.workers, func(_ context.Context, name string) (LayerScan, error) {
		m, ok := s.lookup(name)
		if !ok {
			return LayerScan{}, errNotInArchive
		}
		return ScanLayerAt(io.NewSectionReader(s.f, m.off, m.size), m.size)
	})
}

// dirStore is an OCI layout (or an unpacked docker save) in a directory.
type dirStore struct {
	root    *os.Root
	workers int
}

func (d *dirStore) has(name string) bool {
	st, err := d.root.Stat(filepath.FromSlash(cleanName(name)))
	return err == nil && st.Mode().IsRegular()
}

func (d *dirStore) document(name string) ([]byte, error) {
	f, err := d.root.Open(filepath.FromSlash(cleanName(name)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxDocument))
}

func (d *dirStore) scanLayers(ctx context.Context, names []string) (map[string]LayerScan, error) {
	return scanAll(ctx, names, d.workers, func(_ context.Context, name string) (LayerScan, error) {
		f, err := d.root.Open(filepath.FromSlash(cleanName(name)))
		if err != nil {
			return LayerScan{}, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return LayerScan{}, err
		}
		return ScanLayerAt(f, st.Size())
	})
}

// ScanPath scans a docker save tarball or an OCI layout directory (or an
// unpacked docker save) and returns each image in it.
func ScanPath(ctx context.Context, p string, workers int) ([]Image, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		root, err := os.OpenRoot(p)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		return readImages(ctx, &dirStore{root: root, workers: workers}, SourceFile)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A tarball may come compressed (docker save | gzip); then it can only
	// be streamed.
	magic := make([]byte, 6)
	n, _ := f.ReadAt(magic, 0)
	if c := detect(magic[:n]); c != Uncompressed {
		br := bufio.NewReaderSize(f, 64<<10)
		dr, closeFn, err := decompressor(br, c)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		return ScanSaveStream(ctx, dr, SourceFile)
	}
	ts, err := openTarFile(f, workers)
	if err != nil {
		return nil, err
	}
	return readImages(ctx, ts, SourceFile)
}
