package imagegen

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Layer is one layer of an image: a list of files, or a generator for layers
// too big to list (Gen wins when both are set).
type Layer struct {
	Files       []File
	Gen         func(yield func(File) error) error
	Compression Compression
}

func (l Layer) files() func(yield func(File) error) error {
	if l.Gen != nil {
		return l.Gen
	}
	return func(yield func(File) error) error {
		for _, f := range l.Files {
			if err := yield(f); err != nil {
				return err
			}
		}
		return nil
	}
}

// Image is a named image (repo:tag) made of layers, base first.
type Image struct {
	Ref    string
	Layers []Layer
}

// SaveOptions choose the shape of a docker save tarball.
type SaveOptions struct {
	// OCI writes the Docker 25+ shape (blobs/sha256, index.json and
	// manifest.json); otherwise the legacy shape (<id>/layer.tar).
	OCI bool
	// ManifestFirst puts manifest.json (and index.json) before the layers;
	// docker save writes them after.
	ManifestFirst bool
	// TempDir holds the layer blobs while the tarball is written (their
	// sizes go into tar headers before their bytes); default os.TempDir.
	TempDir string
}

type builtImage struct {
	ref        string
	layers     []builtLayer
	config     []byte
	configHex  string
	manifest   []byte
	manifestHx string
}

type builtLayer struct {
	Blob
	path string // the blob on disk
}

// build writes every layer blob into dir and makes config and manifest.
func build(images []Image, dir string) ([]builtImage, error) {
	var out []builtImage
	for i, img := range images {
		b := builtImage{ref: img.Ref}
		var diffIDs []string
		for j, l := range img.Layers {
			f, err := os.CreateTemp(dir, "layer-*")
			if err != nil {
				return nil, fmt.Errorf("create layer blob: %w", err)
			}
			blob, err := writeLayer(f, l.files(), l.Compression)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, fmt.Errorf("write layer %d of image %d: %w", j, i, err)
			}
			b.layers = append(b.layers, builtLayer{Blob: blob, path: f.Name()})
			diffIDs = append(diffIDs, blob.DiffID)
		}
		cfg, err := json.Marshal(map[string]any{
			"architecture": "amd64",
			"os":           "linux",
			"created":      epoch.UTC().Format("2006-01-02T15:04:05Z"),
			"config":       map[string]any{"Cmd": []string{"/bin/true"}},
			"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
		})
		if err != nil {
			return nil, err
		}
		b.config, b.configHex = cfg, sha256Hex(cfg)
		var descs []map[string]any
		for _, l := range b.layers {
			descs = append(descs, map[string]any{"mediaType": l.MediaType(), "digest": l.Digest, "size": l.Size})
		}
		b.manifest, err = json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     "application/vnd.oci.image.manifest.v1+json",
			"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + b.configHex, "size": len(cfg)},
			"layers":        descs,
		})
		if err != nil {
			return nil, err
		}
		b.manifestHx = sha256Hex(b.manifest)
		out = append(out, b)
	}
	return out, nil
}

// WriteDockerSave writes images as `docker save` would, to w.
func WriteDockerSave(w io.Writer, images []Image, opt SaveOptions) error {
	dir, err := os.MkdirTemp(opt.TempDir, "imagegen-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	built, err := build(images, dir)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	type manifestEntry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []manifestEntry
	written := map[string]bool{}
	var body []func() error // layers and configs, in order
	for _, b := range built {
		m := manifestEntry{RepoTags: []string{b.ref}}
		if b.ref == "" {
			m.RepoTags = nil
		}
		if opt.OCI {
			m.Config = "blobs/sha256/" + b.configHex
		} else {
			m.Config = b.configHex + ".json"
		}
		for _, l := range b.layers {
			name := "blobs/sha256/" + strings.TrimPrefix(l.Digest, "sha256:")
			if !opt.OCI {
				name = strings.TrimPrefix(l.DiffID, "sha256:") + "/layer.tar"
			}
			m.Layers = append(m.Layers, name)
			if written[name] {
				continue
			}
			written[name] = true
			body = append(body, func() error { return addFile(tw, name, l.path) })
		}
		if !written[m.Config] {
			written[m.Config] = true
			body = append(body, func() error { return addBytes(tw, m.Config, b.config) })
		}
		if opt.OCI {
			name := "blobs/sha256/" + b.manifestHx
			body = append(body, func() error { return addBytes(tw, name, b.manifest) })
		}
		manifest = append(manifest, m)
	}
	manifestJSON, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	head := []func() error{func() error { return addBytes(tw, "manifest.json", manifestJSON) }}
	if opt.OCI {
		head = append(head, func() error { return addBytes(tw, "index.json", indexJSON(built)) },
			func() error { return addBytes(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)) })
	}
	steps := append(body, head...)
	if opt.ManifestFirst {
		steps = append(head, body...)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return tw.Close()
}

// WriteOCILayout writes images as an OCI image layout into dir.
func WriteOCILayout(dir string, images []Image) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", blobs, err)
	}
	built, err := build(images, blobs)
	if err != nil {
		return err
	}
	for _, b := range built {
		for _, l := range b.layers {
			if err := os.Rename(l.path, filepath.Join(blobs, strings.TrimPrefix(l.Digest, "sha256:"))); err != nil {
				return err
			}
		}
		for hx, data := range map[string][]byte{b.configHex: b.config, b.manifestHx: b.manifest} {
			if err := os.WriteFile(filepath.Join(blobs, hx), data, 0o644); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), indexJSON(built), 0o644)
}

func indexJSON(built []builtImage) []byte {
	var manifests []map[string]any
	for _, b := range built {
		d := map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json",
			"digest":    "sha256:" + b.manifestHx,
			"size":      len(b.manifest),
		}
		if b.ref != "" {
			d["annotations"] = map[string]string{"io.containerd.image.name": b.ref, "org.opencontainers.image.ref.name": b.ref}
		}
		manifests = append(manifests, d)
	}
	data, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
	return data
}

func addBytes(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err := tw.Write(data)
	return err
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("copy %s: %w", path, err)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
