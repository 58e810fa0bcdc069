package imagescan

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
)

// daemonAt answers /version as a daemon of that OS and architecture, or
// fails with err.
type daemonAt struct {
	os, arch string
	err      error
}

func (d daemonAt) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: d.os, Arch: d.arch}, d.err
}

// pushTwoPlatforms pushes one index whose linux/amd64 image is the fits
// fixture and whose linux/arm64 image is the high one (uid 70000).
func pushTwoPlatforms(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	fixtures := loadFixtures(t)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: fixtures["fits:latest"], Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: fixtures["high:latest"], Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/multi:1"
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// TestRegistryScanReadsTheDaemonsPlatform: of a multi-platform image, a
// registry scan reads the image the daemon would pull (its /version OS
// and architecture, any variant), unless --platform names another; a
// daemon that does not answer leaves this machine's.
func TestRegistryScanReadsTheDaemonsPlatform(t *testing.T) {
	ref := pushTwoPlatforms(t)
	for _, tc := range []struct {
		name   string
		daemon VersionAPI
		flag   string
		maxUID int64
	}{
		{"an arm64 daemon gets the arm64 image", daemonAt{os: "linux", arch: "arm64"}, "", 70000},
		{"an amd64 daemon gets the amd64 image", daemonAt{os: "linux", arch: "amd64"}, "", 0},
		{"--platform wins over the daemon", daemonAt{os: "linux", arch: "arm64"}, "linux/amd64", 0},
		{"--platform with a variant", daemonAt{os: "linux", arch: "amd64"}, "linux/arm64/v8", 70000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlatformFor(context.Background(), tc.daemon, tc.flag)
			if err != nil {
				t.Fatal(err)
			}
			img, err := (&Scanner{Keychain: authn.NewMultiKeychain(), Platform: p}).ScanRegistry(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if img.MaxUID != tc.maxUID {
				t.Errorf("platform %+v: read the image with max uid %d, want %d", p, img.MaxUID, tc.maxUID)
			}
		})
	}
}

func TestPlatformFor(t *testing.T) {
	ctx := context.Background()
	if p, err := PlatformFor(ctx, daemonAt{err: errors.New("connection refused")}, ""); err != nil || p.OS != "" {
		t.Errorf("a daemon that does not answer: %+v, %v; want the zero platform (this machine's)", p, err)
	}
	if p, err := PlatformFor(ctx, nil, ""); err != nil || p.OS != "" {
		t.Errorf("no daemon: %+v, %v; want the zero platform", p, err)
	}
	for _, bad := range []string{"linux", "/amd64", "linux/arm/v7/x"} {
		if _, err := PlatformFor(ctx, daemonAt{os: "linux", arch: "amd64"}, bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("--platform %q: %v, want an error naming it", bad, err)
		}
	}
}
