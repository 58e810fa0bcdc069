package fixtureimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		spec string
		want File
	}{
		{"/etc/x:70000:70000", File{Path: "/etc/x", UID: 70000, GID: 70000}},
		{"/root0:0:0:600", File{Path: "/root0", Mode: 0o600}},
		{"/data/:1:2", File{Path: "/data/", UID: 1, GID: 2, Dir: true}},
		{"/big:4294967295:0", File{Path: "/big", UID: 4294967295}},
	}
	for _, tt := range tests {
		got, err := ParseFile(tt.spec)
		if err != nil {
			t.Fatalf("ParseFile(%q): %v", tt.spec, err)
		}
		if got.Path != tt.want.Path || got.UID != tt.want.UID || got.GID != tt.want.GID ||
			got.Mode != tt.want.Mode || got.Dir != tt.want.Dir {
			t.Errorf("ParseFile(%q) = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}

func TestParseFileRejects(t *testing.T) {
	for _, spec := range []string{"", "/x", "/x:1", "x:1:1", "/x:a:1", "/x:1:-1", "/x:1:1:9", "/x:1:1:17777", "/x:1:1:1:1", "/x:4294967296:0"} {
		if f, err := ParseFile(spec); err == nil {
			t.Errorf("ParseFile(%q) = %+v, want an error", spec, f)
		}
	}
}

func TestFileStringRoundTrip(t *testing.T) {
	for _, spec := range []string{"/etc/x:70000:70000:644", "/d/:5:6:700"} {
		f, err := ParseFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.String(); got != spec {
			t.Errorf("ParseFile(%q).String() = %q", spec, got)
		}
	}
}

type entry struct {
	name     string
	uid, gid int
	mode     int64
	dir      bool
}

func readTar(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var got []entry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{h.Name, h.Uid, h.Gid, h.Mode, h.Typeflag == tar.TypeDir})
	}
}

func TestTarAddsParentsFirstWithOwners(t *testing.T) {
	b, err := Tar(
		File{Path: "/etc/deep/x", UID: 70000, GID: 70001},
		File{Path: "/root0", Mode: 0o600},
		File{Path: "/etc/", Dir: true, UID: 3, GID: 3},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []entry{
		{"etc/", 3, 3, 0o755, true},
		{"etc/deep/", 0, 0, 0o755, true},
		{"etc/deep/x", 70000, 70001, 0o644, false},
		{"root0", 0, 0, 0o600, false},
	}
	got := readTar(t, bytes.NewReader(b))
	if len(got) != len(want) {
		t.Fatalf("tar entries = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tar entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTarRejectsDuplicatesAndRoot(t *testing.T) {
	if _, err := Tar(File{Path: "/a"}, File{Path: "/a/"}); err == nil {
		t.Error("Tar with /a twice: want an error")
	}
	if _, err := Tar(File{Path: "/"}); err == nil {
		t.Error("Tar with /: want an error")
	}
}

func TestImageIsStableAndHoldsTheLayer(t *testing.T) {
	files := []File{{Path: "/etc/x", UID: 70000, GID: 70000}, {Path: "/root0"}}
	a, err := Image(files...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Image(files...)
	if err != nil {
		t.Fatal(err)
	}
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("same files gave digests %s and %s", da, db)
	}
	cfg, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("config platform = %s/%s, want linux/<arch>", cfg.OS, cfg.Architecture)
	}
	layers, err := a.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := readTar(t, rc)
	if len(got) != 3 || got[1].name != "etc/x" || got[1].uid != 70000 {
		t.Errorf("layer entries = %+v, want etc/, etc/x owned by 70000, root0", got)
	}
}
