package imagefit

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// saveTarball writes a docker save tarball of one image whose highest ids
// are uid and gid.
func saveTarball(t *testing.T, uid, gid int) string {
	t.Helper()
	layer := imagegen.Layer{Compression: imagegen.Gzip, Files: []imagegen.File{
		{Name: "home/", Type: tar.TypeDir},
		{Name: "home/data", Size: 10, UID: uid, GID: gid},
	}}
	var buf bytes.Buffer
	if err := imagegen.WriteDockerSave(&buf, []imagegen.Image{{Ref: "app:1", Layers: []imagegen.Layer{layer}}}, imagegen.SaveOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "app.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSizeForImagesFile(t *testing.T) {
	var progress bytes.Buffer
	size, err := SizeForImages(context.Background(), nil, nil, []string{saveTarball(t, 70000, 1000)}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if size != 131072 {
		t.Errorf("size %d, want 131072 (the multiple of 65536 that maps uid 70000)", size)
	}
	if want := "--size auto: 131072 ids map the highest uid and gid of 1 image(s)\n"; progress.String() != want {
		t.Errorf("progress %q, want %q", progress.String(), want)
	}
}

func TestSizeForImagesMissingFile(t *testing.T) {
	_, err := SizeForImages(context.Background(), nil, nil, []string{filepath.Join(t.TempDir(), "none.tar")}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "size for images: ") {
		t.Errorf("error %v, want one starting with \"size for images: \"", err)
	}
}
