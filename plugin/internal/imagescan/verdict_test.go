package imagescan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

func TestSuggestSizeCases(t *testing.T) {
	for _, tc := range []struct {
		needed, want uint64
	}{
		{1, 65536},
		{65536, 65536},
		{65537, 131072},
		{70001, 131072},
		{1<<31 + 1, 1<<31 + 65536},
		{MaxSize, MaxSize},
		{MaxSize + 1, 0},
	} {
		if got := SuggestSize(tc.needed); got != tc.want {
			t.Errorf("SuggestSize(%d) = %d, want %d", tc.needed, got, tc.want)
		}
	}
}

func TestJudgeCases(t *testing.T) {
	def := &Mapping{Remapped: true, UIDs: 65536, GIDs: 65536}
	for _, tc := range []struct {
		name      string
		img       Image
		m         *Mapping
		fits      bool
		known     bool
		message   string
		needed    uint64
		suggested uint64
	}{
		{name: "RootOnly", img: Image{}, m: def, fits: true, known: true, message: "fits: 65536 uids and 65536 gids mapped", needed: 1, suggested: 65536},
		{name: "65535", img: Image{MaxUID: 65535, MaxGID: 65535}, m: def, fits: true, known: true, message: "fits", needed: 65536, suggested: 65536},
		{name: "70000", img: Image{MaxUID: 70000, MaxGID: 10}, m: def, known: true,
			message: "does not fit: highest uid 70000 needs --size 70001 (suggest --size 131072, a multiple of 65536)", needed: 70001, suggested: 131072},
		{name: "GIDOnly", img: Image{MaxUID: 0, MaxGID: 70000}, m: def, known: true, message: "does not fit: highest gid 70000 needs --size 70001", needed: 70001, suggested: 131072},
		{name: "Both", img: Image{MaxUID: 70000, MaxGID: 80000}, m: def, known: true, message: "highest uid 70000 and gid 80000 need --size 80001", needed: 80001, suggested: 131072},
		{name: "NarrowGIDs", img: Image{MaxUID: 100, MaxGID: 100}, m: &Mapping{Remapped: true, UIDs: 65536, GIDs: 100}, known: true, message: "highest gid 100 needs --size 101", needed: 101, suggested: 65536},
		{name: "Unknown", img: Image{MaxUID: 70000}, m: nil, message: "unknown mapping; pass --size", needed: 70001, suggested: 131072},
		{name: "NotRemapped", img: Image{MaxUID: 70000}, m: &Mapping{}, fits: true, known: true, message: "does not remap", needed: 70001, suggested: 131072},
		{name: "Unmappable", img: Image{MaxUID: MaxSize}, m: def, known: true, message: "more than any range can map", needed: MaxSize + 1, suggested: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.img, tc.m)
			if v.Fits != tc.fits || v.Known != tc.known || v.NeededSize != tc.needed || v.SuggestedSize != tc.suggested || !strings.Contains(v.Message, tc.message) {
				t.Errorf("got %+v, want fits %v known %v needed %d suggested %d message containing %q", v, tc.fits, tc.known, tc.needed, tc.suggested, tc.message)
			}
		})
	}
}

func TestSizeForFiles(t *testing.T) {
	data := writeSave(t, imagegen.SaveOptions{})
	p := filepath.Join(t.TempDir(), "images.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	size, images, err := SizeFor(context.Background(), &Scanner{}, []string{p}, SourceFile)
	if err != nil {
		t.Fatal(err)
	}
	// high:latest has gid 75000: 75001 ids, rounded up to 2 x 65536.
	if size != 131072 || len(images) != 2 {
		t.Errorf("size %d from %d images, want 131072 from 2", size, len(images))
	}
	if _, _, err := SizeFor(context.Background(), &Scanner{}, nil, SourceAuto); err == nil {
		t.Error("no images and no daemon: no error")
	}
}

// TestJudgeZstdOnAnOldDaemon: Docker 20.10 cannot extract zstd layers at
// all, whatever the ids; 23 and newer can.
func TestJudgeZstdOnAnOldDaemon(t *testing.T) {
	img := Image{MaxUID: 100, MaxGID: 100, Layers: 3, ZstdLayers: 2}
	v := Judge(img, &Mapping{Remapped: true, UIDs: 65536, GIDs: 65536, DaemonVersion: "20.10.24+dfsg1"})
	if v.Fits || !v.Known || v.Message != "cannot load: 2 of its 3 layers are zstd, which Docker 20.10.24+dfsg1 cannot extract (Docker 23 and newer can)" {
		t.Errorf("20.10: %+v", v)
	}
	if v := Judge(img, &Mapping{DaemonVersion: "20.10.24"}); v.Fits {
		t.Errorf("20.10 without remapping: %+v", v)
	}
	for _, version := range []string{"26.1.5", "28.5.2", ""} {
		if v := Judge(img, &Mapping{Remapped: true, UIDs: 65536, GIDs: 65536, DaemonVersion: version}); !v.Fits {
			t.Errorf("Docker %q: %+v", version, v)
		}
	}
}
