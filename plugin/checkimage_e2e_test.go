package main_test

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/harness/fixtureimage"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// checkImageRow is the part of `check-image --format json` the tests read.
type checkImageRow struct {
	Ref           string `json:"ref"`
	Name          string `json:"name"`
	Source        string `json:"source"`
	Layers        int    `json:"layers"`
	Entries       int64  `json:"entries"`
	MaxUID        int64  `json:"maxUID"`
	MaxGID        int64  `json:"maxGID"`
	Fits          bool   `json:"fits"`
	Known         bool   `json:"known"`
	Message       string `json:"message"`
	NeededSize    uint64 `json:"neededSize"`
	SuggestedSize uint64 `json:"suggestedSize"`
	Holders       []struct {
		Path       string `json:"path"`
		Layer      string `json:"layer"`
		LayerIndex int    `json:"layerIndex"`
		UID        int64  `json:"uid"`
		GID        int64  `json:"gid"`
	} `json:"holders"`
}

// fixtureCase is one image for check-image: where it comes from, what the
// scan must find, and whether a 65536-wide mapping takes it.
type fixtureCase struct {
	ref            string
	files          []fixtureimage.File // pushed to the registry fixture
	zstd           []imagegen.File     // or: a docker save tarball with one zstd layer
	maxUID, maxGID int64
	fits           bool
}

// TestCheckImagePredictsPullEndToEnd: on a daemon remapped to agent with
// the default range, check-image tells, before any pull, which registry
// images (and which zstd tarballs) the daemon will refuse; the pulls and
// loads then do exactly what it said, the refused one with "cannot be
// mapped to a host ID". enable --size auto --for-image then picks a range
// that takes the 70000 image, whose file lands on the host id the map gives.
func TestCheckImagePredictsPullEndToEnd(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		d, ctx := startHost(t, v)
		d.MustExec(t, "docker", "userns", "enable", "agent")
		if err := d.StartRegistry(ctx); err != nil {
			t.Fatal(err)
		}
		reg := harness.RegistryAddr + "/"
		high := reg + "high70000:1"
		cases := []fixtureCase{
			{ref: reg + "root:1", files: []fixtureimage.File{{Path: "/etc/owned", UID: 0, GID: 0}}, fits: true},
			{ref: reg + "edge65535:1", files: []fixtureimage.File{{Path: "/data/owned", UID: 65535, GID: 65535}}, maxUID: 65535, maxGID: 65535, fits: true},
			{ref: high, files: []fixtureimage.File{{Path: "/data/owned", UID: 70000, GID: 70000}}, maxUID: 70000, maxGID: 70000},
			{ref: reg + "gidonly70000:1", files: []fixtureimage.File{{Path: "/data/owned", UID: 0, GID: 70000}}, maxGID: 70000},
			// A whiteout entry is a regular file named .wh.*; the daemon
			// maps its owner before converting it.
			{ref: reg + "whiteout70000:1", files: []fixtureimage.File{{Path: "/opt/.wh.old", UID: 70000, GID: 0}}, maxUID: 70000},
			// The registry fixture pushes gzip layers only: zstd comes
			// as a docker save tarball given by path, then docker load.
			{ref: "/tmp/zstd-root.tar", zstd: []imagegen.File{{Name: "etc/owned", Size: 100}}, fits: true},
			{ref: "/tmp/zstd-high.tar", zstd: []imagegen.File{{Name: "data/", Type: tar.TypeDir}, {Name: "data/owned", UID: 70000, GID: 70000, Size: 100}}, maxUID: 70000, maxGID: 70000},
		}
		var refs []string
		for _, c := range cases {
			refs = append(refs, c.ref)
			if c.zstd != nil {
				copyZstdSave(t, d, c)
				continue
			}
			if _, err := d.PushImage(ctx, c.ref, c.files...); err != nil {
				t.Fatal(err)
			}
		}

		// Docker before 23 cannot decompress zstd layers at all ("Error
		// processing tar file: unexpected EOF"), whatever their owners:
		// check-image says so there.
		server := d.MustExec(t, "docker", "version", "--format", "{{.Server.Version}}")
		major, _ := strconv.Atoi(strings.SplitN(server, ".", 2)[0])
		loadable := func(c fixtureCase) bool { return c.zstd == nil || major >= 23 }

		// Before any pull: one call over all of them, then one per image
		// for its own exit code.
		rows := checkImage(t, d, 1, refs...)
		if len(rows) != len(cases) {
			t.Fatalf("check-image: %d rows for %d images", len(rows), len(cases))
		}
		for i, c := range cases {
			r := rows[i]
			fits := c.fits && loadable(c)
			if r.Ref != c.ref || !r.Known || r.Fits != fits || r.MaxUID != c.maxUID || r.MaxGID != c.maxGID {
				t.Errorf("check-image %s: got %+v, want fits=%v maxUID=%d maxGID=%d (known)", c.ref, r, fits, c.maxUID, c.maxGID)
			}
			if !loadable(c) && !strings.Contains(r.Message, "zstd") {
				t.Errorf("check-image %s on Docker %s: %q does not name zstd", c.ref, server, r.Message)
			}
			if want := uint64(max(c.maxUID, c.maxGID)) + 1; r.NeededSize != want || r.SuggestedSize < want {
				t.Errorf("check-image %s: neededSize %d suggestedSize %d, want %d and at least that", c.ref, r.NeededSize, r.SuggestedSize, want)
			}
			if !c.fits && len(r.Holders) == 0 {
				t.Errorf("check-image %s: no holders named for a misfit", c.ref)
			}
			wantExit := 0
			if !fits {
				wantExit = 1
			}
			checkImage(t, d, wantExit, c.ref)
		}
		if imgs := d.MustExec(t, "docker", "images", "-q"); imgs != "" {
			t.Fatalf("check-image left images in the daemon: %s", imgs)
		}

		// Now the daemon's own verdict must agree with every prediction.
		for _, c := range cases {
			cmd := []string{"docker", "pull", c.ref}
			if c.zstd != nil {
				if major < 23 {
					t.Logf("%s: Docker %s cannot load zstd layers; only check-image's scan of it is tested", c.ref, server)
					continue
				}
				cmd = []string{"docker", "load", "-i", c.ref}
			}
			res, err := d.Exec(ctx, cmd...)
			if err != nil {
				t.Fatal(err)
			}
			if (res.ExitCode == 0) != c.fits {
				t.Errorf("%s: check-image said fits=%v, but %v exited %d: %s", c.ref, c.fits, cmd, res.ExitCode, res.Stderr)
			}
			if !c.fits && !strings.Contains(strings.ToLower(res.Stdout+res.Stderr), "cannot be mapped to a host id") {
				t.Errorf("%v: want \"cannot be mapped to a host ID\", got: %s%s", cmd, res.Stdout, res.Stderr)
			}
		}

		// The first enable's ranges stay after disable; a wider enable
		// replaces them without --force, since enable added them.
		d.MustExec(t, "docker", "userns", "disable")
		res, err := d.Exec(ctx, "docker", "userns", "enable", "agent", "--size", "auto", "--for-image", high)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("enable --size auto --for-image %s: %v %+v", high, err, res)
		}
		m := regexp.MustCompile(`--size auto: (\d+) ids`).FindStringSubmatch(res.Stderr)
		if m == nil {
			t.Fatalf("enable --size auto does not say the size it chose:\n%s", res.Stderr)
		}
		if size, _ := strconv.ParseUint(m[1], 10, 64); size < 70001 {
			t.Errorf("enable --size auto chose %d ids, want at least 70001", size)
		}
		st := userStatus(t, d)
		if n := mapSize(st.UIDMap); n < 70001 {
			t.Errorf("uid map after --size auto covers %d ids, want at least 70001: %+v", n, st.UIDMap)
		}
		checkImage(t, d, 0, high)
		d.MustExec(t, "docker", "pull", high)
		wantUID, okU := hostID(st.UIDMap, 70000)
		wantGID, okG := hostID(st.GIDMap, 70000)
		if !okU || !okG {
			t.Fatalf("status maps no host id to container id 70000: %+v", st)
		}
		upper := d.MustExec(t, "docker", "image", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", high)
		if got, want := d.MustExec(t, "stat", "-c", "%u:%g", upper+"/data/owned"), fmt.Sprintf("%d:%d", wantUID, wantGID); got != want {
			t.Errorf("host owner of /data/owned: %s, want %s (container 70000:70000 through %+v)", got, want, st.UIDMap)
		}
	})
}

// copyZstdSave writes c as a docker save tarball whose one layer is zstd
// and copies it into the container at c.ref.
func copyZstdSave(t *testing.T, d *harness.DinD, c fixtureCase) {
	t.Helper()
	p := filepath.Join(t.TempDir(), filepath.Base(c.ref))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	name := "zstd/" + strings.TrimSuffix(filepath.Base(c.ref), ".tar") + ":1"
	img := imagegen.Image{Ref: name, Layers: []imagegen.Layer{{Files: c.zstd, Compression: imagegen.Zstd}}}
	if err := imagegen.WriteDockerSave(w, []imagegen.Image{img}, imagegen.SaveOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.CopyFile(context.Background(), p, c.ref, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkImage runs check-image --format json on refs, wants exit code want
// and returns its rows.
func checkImage(t *testing.T, d *harness.DinD, want int, refs ...string) []checkImageRow {
	t.Helper()
	res, err := d.Exec(context.Background(), append([]string{"docker", "userns", "check-image", "--format", "json"}, refs...)...)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != want {
		t.Errorf("check-image %v: exit %d, want %d\n%s%s", refs, res.ExitCode, want, res.Stdout, res.Stderr)
	}
	rows, err := harness.JSONLines[checkImageRow](res.Stdout)
	if err != nil {
		t.Fatalf("check-image %v --format json: %v\n%s", refs, err, res.Stdout)
	}
	return rows
}

type mapLine struct{ Container, Host, Size uint64 }

type usernsStatus struct {
	UIDMap []mapLine `json:"uidMap"`
	GIDMap []mapLine `json:"gidMap"`
}

func userStatus(t *testing.T, d *harness.DinD) usernsStatus {
	t.Helper()
	var st usernsStatus
	out := d.MustExec(t, "docker", "userns", "status", "--format", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("docker userns status --format json: %v\n%s", err, out)
	}
	return st
}

func mapSize(m []mapLine) uint64 {
	var n uint64
	for _, l := range m {
		n += l.Size
	}
	return n
}

// hostID is the host id that container id c maps to under m.
func hostID(m []mapLine, c uint64) (uint64, bool) {
	for _, l := range m {
		if c >= l.Container && c < l.Container+l.Size {
			return l.Host + c - l.Container, true
		}
	}
	return 0, false
}
