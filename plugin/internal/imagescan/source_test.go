package imagescan

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// pushFixtures serves an in-memory registry on loopback and pushes the
// fixture images to it; it returns the registry's host:port.
func pushFixtures(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for ref, img := range loadFixtures(t) {
		dst, err := name.NewTag(host + "/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(dst, img); err != nil {
			t.Fatalf("push %s: %v", dst, err)
		}
	}
	return host
}

// loadFixtures is each fixture image (fits:latest, high:latest) by its ref.
func loadFixtures(t *testing.T) map[string]v1.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := imagegen.WriteDockerSave(&buf, fixtureImages(), imagegen.SaveOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fixtures.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	images := map[string]v1.Image{}
	for _, ref := range []string{"fits:latest", "high:latest"} {
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		if images[ref], err = tarball.ImageFromPath(p, &tag); err != nil {
			t.Fatal(err)
		}
	}
	return images
}

func TestScanRegistryFixtures(t *testing.T) {
	host := pushFixtures(t)
	s := &Scanner{Keychain: authn.NewMultiKeychain(), Workers: 2}
	var got []Image
	for _, ref := range []string{"fits:latest", "high:latest"} {
		img, err := s.ScanRegistry(context.Background(), host+"/"+ref)
		if err != nil {
			t.Fatal(err)
		}
		if img.Source != SourceRegistry || !strings.HasPrefix(img.ID, "sha256:") {
			t.Errorf("%s: source %s id %q", ref, img.Source, img.ID)
		}
		img.Name = strings.TrimPrefix(img.Name, host+"/")
		got = append(got, img)
	}
	checkImages(t, got, fixtureWant)
}

func TestScanAutoFallsBackToRegistry(t *testing.T) {
	host := pushFixtures(t)
	s := &Scanner{Keychain: authn.NewMultiKeychain()}
	imgs, err := s.Scan(context.Background(), host+"/high:latest", SourceAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Source != SourceRegistry || imgs[0].MaxUID != 70000 {
		t.Errorf("got %+v", imgs)
	}
	_, err = s.Scan(context.Background(), host+"/missing:latest", SourceAuto)
	if err == nil || !strings.Contains(err.Error(), "missing:latest") {
		t.Errorf("error %v, want one naming missing:latest", err)
	}
}
