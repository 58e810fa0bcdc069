package imagescan

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// fixtureImages are two images sharing a base layer: one that fits the
// default range, one with a uid of 70000 in a zstd layer and a gid-only
// high id in a whiteout.
func fixtureImages() []imagegen.Image {
	base := imagegen.Layer{Compression: imagegen.Gzip, Files: []imagegen.File{
		{Name: "bin/", Type: tar.TypeDir},
		{Name: "bin/sh", Size: 20000, Content: imagegen.Random},
		{Name: "etc/passwd", Size: 300, UID: 0, GID: 42},
	}}
	return []imagegen.Image{
		{Ref: "fits:latest", Layers: []imagegen.Layer{base}},
		{Ref: "high:latest", Layers: []imagegen.Layer{
			base,
			{Compression: imagegen.Zstd, Files: []imagegen.File{
				{Name: "home/app/", Type: tar.TypeDir, UID: 70000, GID: 1000, Format: tar.FormatPAX},
				{Name: "home/app/run", UID: 70000, GID: 1000, Size: 50000},
			}},
			{Compression: imagegen.Uncompressed, Files: []imagegen.File{
				{Name: "etc/.wh.passwd", UID: 0, GID: 75000},
			}},
		}},
	}
}

type wantImage struct {
	name           string
	layers         int
	maxUID, maxGID int64
	entries        int64
	holders        []Entry // Layer left out of the comparison
}

var fixtureWant = []wantImage{
	{name: "fits:latest", layers: 1, maxUID: 0, maxGID: 42, entries: 3,
		holders: []Entry{{Path: "etc/passwd", LayerIndex: 0, UID: 0, GID: 42}}},
	{name: "high:latest", layers: 3, maxUID: 70000, maxGID: 75000, entries: 6,
		holders: []Entry{
			{Path: "home/app", LayerIndex: 1, UID: 70000, GID: 1000},
			{Path: "home/app/run", LayerIndex: 1, UID: 70000, GID: 1000},
			{Path: "etc/.wh.passwd", LayerIndex: 2, UID: 0, GID: 75000},
		}},
}

func checkImages(t *testing.T, got []Image, want []wantImage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d images, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Layers != w.layers || g.MaxUID != w.maxUID || g.MaxGID != w.maxGID || g.Entries != w.entries {
			t.Errorf("image %d: got %s layers %d uid %d gid %d entries %d, want %s %d %d %d %d",
				i, g.Name, g.Layers, g.MaxUID, g.MaxGID, g.Entries, w.name, w.layers, w.maxUID, w.maxGID, w.entries)
		}
		if len(g.Holders) != len(w.holders) {
			t.Errorf("image %s: holders %+v, want %+v", g.Name, g.Holders, w.holders)
			continue
		}
		for j, h := range g.Holders {
			if !strings.HasPrefix(h.Layer, "sha256:") {
				t.Errorf("image %s holder %d: layer %q is not a digest", g.Name, j, h.Layer)
			}
			h.Layer = ""
			if h != w.holders[j] {
				t.Errorf("image %s holder %d: %+v, want %+v", g.Name, j, h, w.holders[j])
			}
		}
	}
}

func writeSave(t *testing.T, opt imagegen.SaveOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	opt.TempDir = t.TempDir()
	if err := imagegen.WriteDockerSave(&buf, fixtureImages(), opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestScanSaveStreamShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  imagegen.SaveOptions
	}{
		{name: "LegacyManifestLast", opt: imagegen.SaveOptions{}},
		{name: "LegacyManifestFirst", opt: imagegen.SaveOptions{ManifestFirst: true}},
		{name: "OCIManifestLast", opt: imagegen.SaveOptions{OCI: true}},
		{name: "OCIManifestFirst", opt: imagegen.SaveOptions{OCI: true, ManifestFirst: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := writeSave(t, tc.opt)
			got, err := ScanSaveStream(context.Background(), bytes.NewReader(data), SourceDaemon)
			if err != nil {
				t.Fatal(err)
			}
			checkImages(t, got, fixtureWant)
		})
	}
}

func TestScanPathDockerSave(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  imagegen.SaveOptions
		gzip bool
	}{
		{name: "Legacy", opt: imagegen.SaveOptions{}},
		{name: "OCI", opt: imagegen.SaveOptions{OCI: true}},
		{name: "Gzipped", opt: imagegen.SaveOptions{}, gzip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := writeSave(t, tc.opt)
			if tc.gzip {
				var zb bytes.Buffer
				zw := gzip.NewWriter(&zb)
				zw.Write(data)
				zw.Close()
				data = zb.Bytes()
			}
			p := filepath.Join(t.TempDir(), "image.tar")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ScanPath(context.Background(), p, 2)
			if err != nil {
				t.Fatal(err)
			}
			checkImages(t, got, fixtureWant)
			for _, img := range got {
				if img.Source != SourceFile || !strings.HasPrefix(img.ID, "sha256:") {
					t.Errorf("image %s: source %s id %q", img.Name, img.Source, img.ID)
				}
			}
		})
	}
}

func TestScanPathOCILayout(t *testing.T) {
	dir := t.TempDir()
	if err := imagegen.WriteOCILayout(dir, fixtureImages()); err != nil {
		t.Fatal(err)
	}
	got, err := ScanPath(context.Background(), dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkImages(t, got, fixtureWant)
}

func TestScanPathErrors(t *testing.T) {
	dir := t.TempDir()
	notTar := filepath.Join(dir, "notes.txt")
	os.WriteFile(notTar, []byte("hello"), 0o644)
	empty := filepath.Join(dir, "empty.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "x", Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	os.WriteFile(empty, buf.Bytes(), 0o644)
	missingLayer := filepath.Join(dir, "missing.tar")
	buf.Reset()
	tw = tar.NewWriter(&buf)
	m := []byte(`[{"Config":"c.json","RepoTags":["x:1"],"Layers":["abc/layer.tar"]}]`)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(m)), Mode: 0o644})
	tw.Write(m)
	tw.Close()
	os.WriteFile(missingLayer, buf.Bytes(), 0o644)

	for _, tc := range []struct{ name, path, want string }{
		{name: "NoSuchFile", path: filepath.Join(dir, "nope"), want: "no such file"},
		{name: "NotATar", path: notTar, want: "read"},
		{name: "NoManifest", path: empty, want: "no manifest.json or index.json"},
		{name: "MissingLayer", path: missingLayer, want: "abc/layer.tar: not in archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ScanPath(context.Background(), tc.path, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestScanSaveStreamNamesAndTargets: a save stream's images carry the tags
// manifest.json gives them and, in the OCI shape (Docker 25 and newer, and
// the containerd store's), the manifest digests index.json lists them by:
// the ids a containerd-store daemon lists them by.
func TestScanSaveStreamNamesAndTargets(t *testing.T) {
	for _, oci := range []bool{false, true} {
		got, err := ScanSaveStream(context.Background(), bytes.NewReader(writeSave(t, imagegen.SaveOptions{OCI: oci})), SourceDaemon)
		if err != nil {
			t.Fatal(err)
		}
		for i, img := range got {
			if len(img.Tags) != 1 || img.Tags[0] != fixtureWant[i].name {
				t.Errorf("oci %v: %s has tags %v", oci, img.Name, img.Tags)
			}
			wantTargets := 0
			if oci {
				wantTargets = 1
			}
			if len(img.Targets) != wantTargets || (oci && (img.Targets[0] == img.ID || !strings.HasPrefix(img.Targets[0], "sha256:"))) || img.Platforms != wantTargets {
				t.Errorf("oci %v: %s (config %s) has targets %v, %d platforms; want %d manifest digest(s)", oci, img.Name, img.ID, img.Targets, img.Platforms, wantTargets)
			}
		}
	}
}
