package imagescan

import (
	"archive/tar"
	"bytes"
	"errors"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

type layerCase struct {
	name           string
	files          []imagegen.File
	maxUID, maxGID int64
	entries        int64
	holders        []string // paths at the highest uid, then gid
}

var layerCases = []layerCase{
	{
		name: "RootOnly",
		files: []imagegen.File{
			{Name: "etc/", Type: tar.TypeDir},
			{Name: "etc/passwd", Size: 100},
			{Name: "bin/sh", Size: 5000, Content: imagegen.Random},
		},
		entries: 3,
	},
	{
		name: "65535",
		files: []imagegen.File{
			{Name: "a", UID: 1000, GID: 1000, Size: 10},
			{Name: "nobody", UID: 65535, GID: 65535, Size: 10},
		},
		maxUID: 65535, maxGID: 65535, entries: 2, holders: []string{"nobody"},
	},
	{
		name: "70000PAX",
		files: []imagegen.File{
			{Name: "home/u/", Type: tar.TypeDir, UID: 70000, GID: 70000, Format: tar.FormatPAX},
			{Name: "home/u/f", UID: 70000, GID: 70000, Size: 1 << 20, Format: tar.FormatPAX},
		},
		maxUID: 70000, maxGID: 70000, entries: 2, holders: []string{"home/u", "home/u/f"},
	},
	{
		name: "2pow31GNU",
		files: []imagegen.File{
			{Name: "big", UID: 1 << 31, GID: 1 << 31, Size: 1, Format: tar.FormatGNU},
			{Name: "small", UID: 5, GID: 5, Size: 1},
		},
		maxUID: 1 << 31, maxGID: 1 << 31, entries: 2, holders: []string{"big"},
	},
	{
		name: "GIDOnly",
		files: []imagegen.File{
			{Name: "g", UID: 0, GID: 70000, Size: 3},
			{Name: "u", UID: 10, GID: 0, Size: 3},
		},
		maxUID: 10, maxGID: 70000, entries: 2, holders: []string{"u", "g"},
	},
	{
		name: "WhiteoutHighUID",
		files: []imagegen.File{
			{Name: "etc/.wh.gone", UID: 80000, GID: 0},
			{Name: "etc/.wh..wh..opq", UID: 0, GID: 80001},
		},
		maxUID: 80000, maxGID: 80001, entries: 2, holders: []string{"etc/.wh.gone", "etc/.wh..wh..opq"},
	},
	{
		name: "HardLink",
		files: []imagegen.File{
			{Name: "target", UID: 0, GID: 0, Size: 7},
			{Name: "link", Type: tar.TypeLink, Linkname: "target", UID: 90000, GID: 90000},
		},
		maxUID: 90000, maxGID: 90000, entries: 2, holders: []string{"link"},
	},
	{
		name: "RootEntryAndGlobalHeaderSkipped",
		files: []imagegen.File{
			{Name: "./", Type: tar.TypeDir, UID: 99999, GID: 99999},
			{Name: "f", UID: 3, GID: 4, Size: 1},
		},
		maxUID: 3, maxGID: 4, entries: 1, holders: []string{"f"},
	},
}

func writeLayer(t testing.TB, files []imagegen.File, c imagegen.Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := imagegen.WriteLayer(&buf, files, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkLayer(t *testing.T, tc layerCase, got LayerScan) {
	t.Helper()
	if got.MaxUID != tc.maxUID || got.MaxGID != tc.maxGID || got.Entries != tc.entries {
		t.Errorf("got uid %d gid %d entries %d, want uid %d gid %d entries %d",
			got.MaxUID, got.MaxGID, got.Entries, tc.maxUID, tc.maxGID, tc.entries)
	}
	var paths []string
	for _, e := range append(got.UIDHolders, got.GIDHolders...) {
		if len(paths) == 0 || paths[len(paths)-1] != e.Path {
			paths = append(paths, e.Path)
		}
	}
	if !equalUnique(paths, tc.holders) {
		t.Errorf("holders %v, want %v", paths, tc.holders)
	}
}

// equalUnique compares the distinct paths in order of first appearance.
func equalUnique(got, want []string) bool {
	seen := map[string]bool{}
	var g []string
	for _, p := range got {
		if !seen[p] {
			seen[p] = true
			g = append(g, p)
		}
	}
	if len(g) != len(want) {
		return false
	}
	for i := range g {
		if g[i] != want[i] {
			return false
		}
	}
	return true
}

func TestScanLayerCases(t *testing.T) {
	comps := map[string]imagegen.Compression{"tar": imagegen.Uncompressed, "gzip": imagegen.Gzip, "zstd": imagegen.Zstd}
	wantComp := map[string]Compression{"tar": Uncompressed, "gzip": Gzip, "zstd": Zstd}
	for _, tc := range layerCases {
		for cname, c := range comps {
			data := writeLayer(t, tc.files, c)
			t.Run(tc.name+"/"+cname+"/stream", func(t *testing.T) {
				got, err := ScanLayer(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				if got.Compression != wantComp[cname] {
					t.Errorf("compression %s, want %s", got.Compression, wantComp[cname])
				}
				checkLayer(t, tc, got)
			})
			t.Run(tc.name+"/"+cname+"/at", func(t *testing.T) {
				got, err := ScanLayerAt(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				checkLayer(t, tc, got)
			})
		}
	}
}

func TestScanLayerGlobalHeader(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}},
		{Typeflag: tar.TypeReg, Name: "f", Uid: 12, Gid: 13},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ScanLayer(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxUID != 12 || got.MaxGID != 13 || got.Entries != 1 {
		t.Errorf("got uid %d gid %d entries %d, want 12 13 1", got.MaxUID, got.MaxGID, got.Entries)
	}
}

func TestScanLayerErrors(t *testing.T) {
	good := writeLayer(t, []imagegen.File{{Name: "f", Size: 100000, Content: imagegen.Random}}, imagegen.Gzip)
	cases := []struct {
		name string
		data []byte
		is   error
	}{
		{name: "Truncated", data: good[:len(good)/2]},
		{name: "NotATar", data: bytes.Repeat([]byte("garbage!"), 100)},
		{name: "XZ", data: []byte{0xfd, '7', 'z', 'X', 'Z', 0x00, 1, 2}, is: ErrUnsupportedCompression},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ScanLayer(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
		})
	}
}
