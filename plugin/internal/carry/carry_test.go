package carry

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
)

// ownerMap is agent's owner layout: container 0 is host 999, 1.. are
// 165536...
var ownerMap = idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test chowns files: run it as root (the project's tests run as root)")
	}
}

// tree makes a volume directory as a container of an unremapped daemon
// leaves it: files of root and of uid 1000, a 0600 file, a symlink, a hard
// link and a setgid directory.
func tree(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(src, "db"), 0o750))
	must(os.WriteFile(filepath.Join(src, "db", "data"), []byte("rows"), 0o600))
	must(os.Chown(filepath.Join(src, "db"), 1000, 1000))
	must(os.Chown(filepath.Join(src, "db", "data"), 1000, 1000))
	must(os.WriteFile(filepath.Join(src, "root-file"), []byte("root's"), 0o644))
	must(os.Link(filepath.Join(src, "root-file"), filepath.Join(src, "hard")))
	must(os.Symlink("db/data", filepath.Join(src, "link")))
	must(os.Lchown(filepath.Join(src, "link"), 1000, 1000))
	must(os.Mkdir(filepath.Join(src, "shared"), 0o775))
	must(os.Chmod(filepath.Join(src, "shared"), os.ModeSetgid|0o775))
	return src
}

func owner(t *testing.T, p string) (uint32, uint32, os.FileMode) {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, info.Mode()
}

func TestCopyTreeShiftsOwnersIntoTheNewMap(t *testing.T) {
	needRoot(t)
	src, dst := tree(t), t.TempDir()
	sh := Shift{FromUID: idmap.Identity, FromGID: idmap.Identity, ToUID: ownerMap, ToGID: ownerMap}
	n, err := CopyTree(src, dst, sh)
	if err != nil {
		t.Fatal(err)
	}
	if n.Bytes != int64(len("rows")+len("root's")) {
		t.Errorf("bytes %d", n.Bytes)
	}
	for _, c := range []struct {
		path     string
		uid, gid uint32
		mode     os.FileMode
	}{
		{"", 999, 999, os.ModeDir | 0o700},
		{"db", 166535, 166535, os.ModeDir | 0o750},
		{"db/data", 166535, 166535, 0o600},
		{"root-file", 999, 999, 0o644},
		{"link", 166535, 166535, os.ModeSymlink | 0o777},
		{"shared", 999, 999, os.ModeDir | os.ModeSetgid | 0o775},
	} {
		uid, gid, mode := owner(t, filepath.Join(dst, c.path))
		if c.path == "" {
			// dst's own mode is the source root's (TempDir: 0700).
			_, _, want := owner(t, src)
			c.mode = want
		}
		if uid != c.uid || gid != c.gid || mode != c.mode {
			t.Errorf("/%s: %d:%d %v, want %d:%d %v", c.path, uid, gid, mode, c.uid, c.gid, c.mode)
		}
	}
	a, _ := os.Stat(filepath.Join(dst, "root-file"))
	b, _ := os.Stat(filepath.Join(dst, "hard"))
	if !os.SameFile(a, b) {
		t.Error("the hard link was copied as a second file")
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "db", "data")); string(got) != "rows" {
		t.Errorf("content %q", got)
	}
}

func TestCopyTreeBackUnshifts(t *testing.T) {
	needRoot(t)
	src, mid, back := tree(t), t.TempDir(), t.TempDir()
	there := Shift{FromUID: idmap.Identity, FromGID: idmap.Identity, ToUID: ownerMap, ToGID: ownerMap}
	if _, err := CopyTree(src, mid, there); err != nil {
		t.Fatal(err)
	}
	home := Shift{FromUID: ownerMap, FromGID: ownerMap, ToUID: idmap.Identity, ToGID: idmap.Identity}
	// back holds a stale file: the copy replaces what it held.
	if err := os.WriteFile(filepath.Join(back, "stale"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyTree(mid, back, home); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(back, "stale")); !os.IsNotExist(err) {
		t.Errorf("stale file still there: %v", err)
	}
	if uid, gid, _ := owner(t, filepath.Join(back, "db", "data")); uid != 1000 || gid != 1000 {
		t.Errorf("db/data back as %d:%d, want 1000:1000", uid, gid)
	}
	if uid, _, _ := owner(t, filepath.Join(back, "root-file")); uid != 0 {
		t.Errorf("root-file back as uid %d", uid)
	}
}

func TestCopyTreeRefusesAnIdTheNewMapCannotHold(t *testing.T) {
	needRoot(t)
	src := tree(t)
	if err := os.Chown(filepath.Join(src, "db", "data"), 70000, 70000); err != nil {
		t.Fatal(err)
	}
	sh := Shift{FromUID: idmap.Identity, FromGID: idmap.Identity, ToUID: ownerMap, ToGID: ownerMap}
	_, err := CopyTree(src, t.TempDir(), sh)
	if err == nil || !strings.Contains(err.Error(), "/db/data: owner 70000:70000 cannot be carried") {
		t.Fatalf("err = %v", err)
	}
}

// TestCopyTreeThatFailsLeavesTheDestinationAsItWas is issue 23 case 9: a
// copy that stops on an owner the new map cannot hold leaves the volume's
// _data with what it held, and nothing beside it; a copy killed before
// (its staging directory left) is cleared by the next one.
func TestCopyTreeThatFailsLeavesTheDestinationAsItWas(t *testing.T) {
	needRoot(t)
	src := tree(t)
	if err := os.Chown(filepath.Join(src, "root-file"), 70000, 0); err != nil {
		t.Fatal(err)
	}
	volume := t.TempDir()
	dst := filepath.Join(volume, "_data")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "kept"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := func(dir string) string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	sh := Shift{FromUID: idmap.Identity, FromGID: idmap.Identity, ToUID: ownerMap, ToGID: ownerMap}
	if _, err := CopyTree(src, dst, sh); err == nil || !strings.Contains(err.Error(), "owner 70000:0 cannot be carried") {
		t.Fatalf("err = %v", err)
	}
	if got := list(dst); got != "kept" {
		t.Errorf("after a failed copy the volume holds %q, want what it held: kept", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "kept")); string(got) != "old" {
		t.Errorf("kept holds %q", got)
	}
	if got := list(volume); got != "_data" {
		t.Errorf("beside _data after a failed copy: %q", got)
	}
	// A copy killed mid-way left its staging directory: the next clears it.
	if err := os.Chown(filepath.Join(src, "root-file"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst+stagedSuffix+"/half", 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyTree(src, dst, sh); err != nil {
		t.Fatal(err)
	}
	if got := list(volume); got != "_data" {
		t.Errorf("beside _data after a copy: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dst, "kept")); !os.IsNotExist(err) || !strings.Contains(list(dst), "root-file") {
		t.Errorf("the copy did not replace what _data held: %s", list(dst))
	}
}

func TestScanDirFindsTheHighestIds(t *testing.T) {
	needRoot(t)
	src := tree(t)
	if err := os.Lchown(filepath.Join(src, "link"), 70000, 5); err != nil {
		t.Fatal(err)
	}
	s, err := ScanDir(src, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxUID != 70000 || s.UIDHolder != "/link" || s.MaxGID != 1000 || s.Files != 7 || s.Overflow != "" {
		t.Errorf("scan %+v", s)
	}
	// Inside a user namespace an owner outside the map reads as the
	// overflow id: the scan names the first entry of it.
	if err := os.Chown(filepath.Join(src, "db", "data"), 1000, 65534); err != nil {
		t.Fatal(err)
	}
	if s, err = ScanDir(src, 65534, 65534); err != nil || s.Overflow != "/db/data" {
		t.Errorf("overflow: %+v %v", s, err)
	}
}

// TestOwnersNamesTheFirstOwnerOutsideTheMap: the check before the change
// reads host owners against the old daemon's map, as the copy would.
func TestOwnersNamesTheFirstOwnerOutsideTheMap(t *testing.T) {
	needRoot(t)
	inMap, outside := t.TempDir(), t.TempDir()
	for _, dir := range []string{inMap, outside} {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{dir, filepath.Join(dir, "f")} {
			if err := os.Chown(p, 165536+999, 999); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Left by a wider map of the same data root: container uid 70000.
	if err := os.Chown(filepath.Join(outside, "f"), 165536+69999, 999); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	m := ownerMap.String()
	if code := Main([]string{"owners", m, m, inMap, outside}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var found []string
	if err := json.Unmarshal(out.Bytes(), &found); err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0] != "" || found[1] != "/f: host owner 235535:999" {
		t.Fatalf("found %q", found)
	}
}

func TestMainCopyAnswersPerVolume(t *testing.T) {
	needRoot(t)
	src, dst := tree(t), t.TempDir()
	var out, errOut bytes.Buffer
	code := Main([]string{"copy", "0 0 4294967295", "0 0 4294967295", "0 999 1, 1 165536 65535", "0 999 1, 1 165536 65535", src, dst, "/nonexistent", t.TempDir()}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res []CopyResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Error != "" || res[0].Files != 7 || res[1].Error == "" {
		t.Fatalf("results %+v", res)
	}
}

func TestCheckNamesWhatTheNewMapCannotHold(t *testing.T) {
	p := &Plan{freeRoot: -1,
		images: []imageItem{
			{Item: Item{Kind: Image, Name: "app:1"}, needed: 1001},
			{Item: Item{Kind: Image, Name: "wide:1"}, needed: 70001, holder: "highest uid 70000, gid 0: /opt/x"},
		},
		volumes: []volumeItem{{Item: Item{Kind: Volume, Name: "db"}, scan: VolumeScan{MaxUID: 70000, UIDHolder: "/pg", MaxGID: 70}}},
	}
	err := p.Check(65536)
	if err == nil || !strings.Contains(err.Error(), "image wide:1 (highest uid 70000, gid 0: /opt/x), volume db (uid 70000: /pg)") || strings.Contains(err.Error(), "app:1") {
		t.Fatalf("err = %v", err)
	}
	if err := p.Check(131072); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(0); err != nil {
		t.Fatalf("no limit: %v", err)
	}
	if p.Needed() != 70001 {
		t.Errorf("needed %d", p.Needed())
	}
	p.freeRoot, p.images[0].Bytes = 10, 11
	if err := p.Check(0); err == nil || !strings.Contains(err.Error(), "has 10 B free") {
		t.Fatalf("no room: %v", err)
	}
	p.freeRoot, p.fromUID, p.fromGID = -1, ownerMap, ownerMap
	p.volumes[0].outside = "/f: host owner 235535:999"
	if err := p.Check(0); err == nil || !strings.Contains(err.Error(), "cannot carry volume db (/f: host owner 235535:999): owners outside the daemon's map (uid 0 999 1, 1 165536 65535;") {
		t.Fatalf("owner outside the old map: %v", err)
	}
}

func TestLeaveAloneSaysWhy(t *testing.T) {
	for _, c := range []struct {
		v    volume.Volume
		want string
	}{
		{volume.Volume{Name: "data", Driver: "local"}, ""},
		{volume.Volume{Name: "nfs", Driver: "local", Options: map[string]string{"type": "nfs", "o": "addr=10.0.0.1"}}, "mount options (type=nfs o=addr=10.0.0.1)"},
		{volume.Volume{Name: "x", Driver: "rexray"}, `driver "rexray"`},
		{volume.Volume{Name: strings.Repeat("ab", 32), Driver: "local"}, "anonymous"},
		{volume.Volume{Name: "y", Driver: "local", Labels: map[string]string{anonymousLabel: ""}}, "anonymous"},
	} {
		got := leaveAlone(c.v)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.v.Name, got, c.want)
		}
	}
}

func TestNormalTag(t *testing.T) {
	for in, want := range map[string]string{"alpine": "alpine:latest", "alpine:3": "alpine:3", "localhost:5000/a": "localhost:5000/a:latest", "a@sha256:00": "a@sha256:00"} {
		if got := normalTag(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestLeftBehindCountsTheRootsNotInUse(t *testing.T) {
	dir := t.TempDir()
	mk := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{
		"var/lib/docker/image/overlay2/imagedb/content/sha256/aaa", "var/lib/docker/image/overlay2/imagedb/content/sha256/bbb",
		"var/lib/docker/containers/c1", "var/lib/docker/volumes/data/_data", "var/lib/docker/volumes/metadata.db",
		"var/lib/docker/999.999/image/overlay2/imagedb/content/sha256/aaa", "var/lib/docker/999.999/volumes/data/_data",
		"var/lib/docker/1000.1000/volumes", "var/lib/docker/1.x/containers/c",
	} {
		mk(p)
	}
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := LeftBehind(root, "/var/lib/docker/999.999", true)
	if len(got) != 1 || got[0].String() != "/var/lib/docker: 2 images, 1 container and 1 volume" {
		t.Errorf("remapped: %v", got)
	}
	got = LeftBehind(root, "/var/lib/docker", false)
	if len(got) != 1 || got[0].String() != "/var/lib/docker/999.999: 1 image, 0 containers and 1 volume" {
		t.Errorf("unremapped: %v", got)
	}

	// Docker 29's containerd store: its images are not directories; the
	// root says it holds some, and is listed for them alone.
	mk("var/lib/docker/999.999/containerd/daemon/io.containerd.metadata.v1.bolt")
	got = LeftBehind(root, "/var/lib/docker", false)
	if len(got) != 1 || got[0].ContainerdStore {
		t.Errorf("a remapped root's containerd dir without blobs: %v", got)
	}
	if err := os.RemoveAll(filepath.Join(dir, "var/lib/docker/image")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "var/lib/docker/volumes")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "var/lib/docker/containers")); err != nil {
		t.Fatal(err)
	}
	mk("var/lib/docker/containerd/daemon/io.containerd.content.v1.content/blobs/sha256/ccc")
	got = LeftBehind(root, "/var/lib/docker/999.999", true)
	if len(got) != 1 || got[0].String() != "/var/lib/docker: images in its containerd store (not counted), 0 containers and 0 volumes" {
		t.Errorf("remapped on Docker 29: %v", got)
	}
}

// TestDryRunExpectsTimeFromTheSizes: a dry run's expected time is the
// images' bytes at ImageRate plus the volumes' at VolumeRate, rounded up
// to a second; those left alone take none.
func TestDryRunExpectsTimeFromTheSizes(t *testing.T) {
	p := &Plan{
		images:  []imageItem{{Item: Item{Kind: Image, Name: "app:1", Bytes: 3 * ImageRate}}},
		volumes: []volumeItem{{Item: Item{Kind: Volume, Name: "db", Bytes: VolumeRate / 2}}},
		others:  []Item{{Kind: Volume, Name: "nfs", Bytes: 100 * VolumeRate, Result: LeftAlone}},
	}
	r := p.DryRun()
	if r.ExpectedSeconds != 4 {
		t.Errorf("expected %d s, want 4 (3 s of image, 0.5 s of volume, rounded up)", r.ExpectedSeconds)
	}
	for _, it := range r.Items[:2] {
		if it.Result != WouldCarry {
			t.Errorf("%s: %s", it.Name, it.Result)
		}
	}
	if got := Expect(0, 0); got != 0 {
		t.Errorf("nothing to carry: %v", got)
	}
}

// TestSavedAsMatchesEitherStore: an image is found in the save stream by
// its id in a graphdriver store's list (the config digest), and in the
// containerd store's (Docker 29's default), which lists it by its manifest
// or index digest, by that digest in index.json or by a tag; once loaded,
// either id counts, and a multi-platform image loaded by its config's
// digest says it came as one platform.
func TestSavedAsMatchesEitherStore(t *testing.T) {
	scan := imagescan.Image{ID: "sha256:c0", Tags: []string{"app:1", "busybox:latest"}, Targets: []string{"sha256:1d"}, Platforms: 2}
	for _, tc := range []struct {
		name string
		img  imageItem
		want bool
	}{
		{"graphdriver id", imageItem{id: "sha256:c0", refs: []string{"other:1"}}, true},
		{"containerd id in index.json", imageItem{id: "sha256:1d", refs: []string{"other:1"}}, true},
		{"containerd id, by tag", imageItem{id: "sha256:99", refs: []string{"app:1"}}, true},
		{"containerd id, by a name without tag", imageItem{id: "sha256:99", refs: []string{"busybox"}}, true},
		{"another image", imageItem{id: "sha256:99", refs: []string{"app:2"}}, false},
	} {
		if got := tc.img.savedAs(scan); got != tc.want {
			t.Errorf("%s: savedAs = %v, want %v", tc.name, got, tc.want)
		}
	}
	img := imageItem{id: "sha256:1d", refs: []string{"app:1"}, loaded: loadedIDs(scan), platforms: scan.Platforms}
	for have, wantNote := range map[string]bool{"sha256:c0": true, "sha256:1d": false} {
		id, ok := img.listedAs(map[string]string{"app:1": have}, "app:1")
		if !ok || id != have {
			t.Errorf("listed as %s: listedAs = %s, %v", have, id, ok)
		}
		if note := img.platformNote(id); (note != "") != wantNote || (wantNote && !strings.Contains(note, "2 saved platforms")) {
			t.Errorf("listed as %s: note %q", have, note)
		}
	}
	if _, ok := img.listedAs(map[string]string{"app:1": "sha256:77"}, "app:1"); ok {
		t.Error("a tag naming another image counts as carried")
	}
}
