package main_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// newest is the newest Docker version the harness runs.
func newest(t *testing.T) harness.Version {
	t.Helper()
	vs := harness.Versions()
	return vs[len(vs)-1]
}

// completeOn runs `docker __complete userns WORDS...` on the host, through
// its own docker CLI, and returns the words offered and the directive.
func completeOn(t *testing.T, d *harness.DinD, words ...string) ([]string, string) {
	t.Helper()
	out := d.MustExec(t, append([]string{"docker", "__complete", "userns"}, words...)...)
	var offered []string
	directive := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		word, _, _ := strings.Cut(line, "\t")
		offered = append(offered, word)
	}
	return offered, directive
}

// TestCompletionOnADaemonHost: on a daemon's host, the docker CLI's TAB
// offers the daemon's images for check-image (and the shell's files, which
// auto reads too) and for --for-image, and the host's users (not root)
// with default for enable.
func TestCompletionOnADaemonHost(t *testing.T) {
	d, _ := startHost(t, newest(t))
	importBusybox(t, d)
	for _, tc := range []struct {
		words     []string
		want      []string
		directive string
	}{
		{[]string{"check-image", ""}, []string{"busybox:latest"}, ":0"},
		{[]string{"check-image", "--source", "daemon", ""}, []string{"busybox:latest"}, ":4"},
		{[]string{"enable", "--size", "auto", "--for-image", ""}, []string{"busybox:latest"}, ":4"},
	} {
		got, directive := completeOn(t, d, tc.words...)
		if !slices.Equal(got, tc.want) || directive != tc.directive {
			t.Errorf("docker __complete userns %q: got %q %s, want %q %s", tc.words, got, directive, tc.want, tc.directive)
		}
	}
	users, directive := completeOn(t, d, "enable", "")
	for _, want := range []string{"default", "agent", "alice"} {
		if !slices.Contains(users, want) {
			t.Errorf("enable offers %q, lacks %s", users, want)
		}
	}
	if slices.Contains(users, "root") || directive != ":4" {
		t.Errorf("enable offers %q %s: want no root, no files", users, directive)
	}
}

// TestCheckImageOnAFleet: check-image --context h1 --context h2 judges an
// image on each host against that host's own mapping (h1 remapped to
// agent's 65536 ids, learned through a helper container; h2 not
// remapped): one JSON line per host, and the table.
func TestCheckImageOnAFleet(t *testing.T) {
	hosts, config := fleetHosts(t, newest(t), 2)
	if res := dockerWith(t, config, "--context", "h1", "userns", "enable", "agent"); res.code != 0 {
		t.Fatalf("enable on h1: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	var buf bytes.Buffer
	high := imagegen.Image{Ref: "high:1", Layers: []imagegen.Layer{{Compression: imagegen.Gzip, Files: []imagegen.File{
		{Name: "data/", Type: tar.TypeDir}, {Name: "data/owned", UID: 70000, GID: 70000, Size: 10},
	}}}}
	if err := imagegen.WriteDockerSave(&buf, []imagegen.Image{high}, imagegen.SaveOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "high.tar")
	if err := os.WriteFile(tarball, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	res := dockerWith(t, config, "userns", "check-image", "--context", "h1", "--context", "h2", "--format", "json", tarball)
	rows := decodeRows(t, res.stdout)
	if res.code != 1 || len(rows) != 2 {
		t.Fatalf("exit %d, %d rows, want exit 1 and a line per host\n%s%s", res.code, len(rows), res.stdout, res.stderr)
	}
	if r := rows[0]; r.Host != "h1" || r.Result != "does not fit" || !r.Failed || !strings.Contains(r.Message, "70000") {
		t.Errorf("h1 (remapped, 65536 ids): %+v", r)
	}
	if r := rows[1]; r.Host != "h2" || r.Result != "fits" || r.Failed {
		t.Errorf("h2 (not remapped): %+v", r)
	}
	if strings.Count(res.stdout, "\n") != 2 {
		t.Errorf("json: want two lines, got %q", res.stdout)
	}

	table := dockerWith(t, config, "userns", "check-image", "--context", "h1", "--context", "h2", "--size", "75000", tarball)
	for _, want := range []string{"HOST", "h1 ", "h2 ", "fits"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, table.stdout)
		}
	}
	if table.code != 0 || strings.Contains(table.stdout, "does not fit") {
		t.Errorf("--size 75000 takes uid 70000 on both: exit %d\n%s%s", table.code, table.stdout, table.stderr)
	}
	for _, d := range hosts {
		noHelperLeft(t, d)
	}
}
