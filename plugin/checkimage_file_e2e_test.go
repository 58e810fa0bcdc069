package main_test

// The check-image command run as a user runs it, the built binary
// standalone and through the docker CLI, on docker save files (and one
// test on this machine's daemon): moved here from plugin/commands, whose
// tests need no Docker and no build.

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// checkImageFixture writes a docker save tarball of two images: one whose
// owners fit 65536 ids, one with uid 70000 and gid 75000 (a whiteout).
func checkImageFixture(t *testing.T, refs ...string) string {
	t.Helper()
	if len(refs) == 0 {
		refs = []string{"fits:latest", "high:latest"}
	}
	base := imagegen.Layer{Compression: imagegen.Gzip, Files: []imagegen.File{
		{Name: "bin/", Type: tar.TypeDir},
		{Name: "bin/true", Size: 1000, Content: imagegen.Random, Mode: 0o755},
		{Name: "etc/group", Size: 50, GID: 1000},
	}}
	high := imagegen.Layer{Compression: imagegen.Gzip, Files: []imagegen.File{
		{Name: "home/app/", Type: tar.TypeDir, UID: 70000, GID: 1000},
		{Name: "home/app/data", Size: 100, UID: 70000, GID: 1000},
		{Name: "etc/.wh.motd", UID: 0, GID: 75000},
	}}
	var buf bytes.Buffer
	images := []imagegen.Image{{Ref: refs[0], Layers: []imagegen.Layer{base}}, {Ref: refs[1], Layers: []imagegen.Layer{base, high}}}
	if err := imagegen.WriteDockerSave(&buf, images, imagegen.SaveOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "images.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type checkImageRun struct {
	stdout, stderr string
	code           int
}

// runPlugin runs the built binary standalone (docker-userns check-image
// ...) or, with viaDocker, as `docker userns check-image ...`.
func runPlugin(t *testing.T, viaDocker bool, args ...string) checkImageRun {
	t.Helper()
	configDir := dockerConfigWithPlugin(t)
	bin := filepath.Join(configDir, "cli-plugins", "docker-userns")
	var cmd *exec.Cmd
	if viaDocker {
		cmd = command(t, "docker", append([]string{"userns"}, args...)...)
	} else {
		cmd = command(t, bin, args...)
	}
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+configDir)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	run := checkImageRun{stdout: out.String(), stderr: errOut.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		run.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return run
}

func decodeCheckImageRows(t *testing.T, run checkImageRun) []checkImageRow {
	t.Helper()
	var rows []checkImageRow
	if err := dockerformat.Read(run.stdout, &rows); err != nil {
		t.Fatalf("output is not JSON: %v\nstdout: %s\nstderr: %s", err, run.stdout, run.stderr)
	}
	return rows
}

func TestCheckImageFileJSON(t *testing.T) {
	tarball := checkImageFixture(t)
	for _, viaDocker := range []bool{false, true} {
		t.Run(map[bool]string{false: "Standalone", true: "ViaDocker"}[viaDocker], func(t *testing.T) {
			run := runPlugin(t, viaDocker, "check-image", "--source", "file", tarball, "--format", "json", "--size", "65536")
			if run.code != 1 {
				t.Errorf("exit code %d, want 1 (one image does not fit)\nstderr: %s", run.code, run.stderr)
			}
			rows := decodeCheckImageRows(t, run)
			if len(rows) != 2 {
				t.Fatalf("got %d rows, want 2: %s", len(rows), run.stdout)
			}
			fits, high := rows[0], rows[1]
			if fits.Name != "fits:latest" || !fits.Fits || !fits.Known || fits.MaxUID != 0 || fits.MaxGID != 1000 || fits.Entries != 3 || fits.Source != "file" || fits.Ref != tarball {
				t.Errorf("fits:latest row: %+v", fits)
			}
			if high.Name != "high:latest" || high.Fits || high.MaxUID != 70000 || high.MaxGID != 75000 || high.Entries != 6 || high.Layers != 2 ||
				high.NeededSize != 75001 || high.SuggestedSize != 131072 {
				t.Errorf("high:latest row: %+v", high)
			}
			if want := "does not fit: highest uid 70000 and gid 75000 need --size 75001 (suggest --size 131072"; !strings.Contains(high.Message, want) {
				t.Errorf("message %q, want it to contain %q", high.Message, want)
			}
			var paths []string
			for _, h := range high.Holders {
				paths = append(paths, fmt.Sprintf("%s@%d", h.Path, h.LayerIndex))
				if !strings.HasPrefix(h.Layer, "sha256:") {
					t.Errorf("holder %s: layer %q is not a digest", h.Path, h.Layer)
				}
			}
			if got, want := strings.Join(paths, " "), "home/app@1 home/app/data@1 etc/.wh.motd@1"; got != want {
				t.Errorf("holders %s, want %s", got, want)
			}
		})
	}
}

func TestCheckImageFileFormats(t *testing.T) {
	tarball := checkImageFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		// viaDocker runs `docker userns`: the standalone binary cannot
		// reach the daemon yet (its client options miss
		// SetDefaultOptions, so it looks for ca.pem).
		viaDocker bool
		code      int
		stdout    []string
		stderr    string
	}{
		{name: "WideEnough", args: []string{"--size", "131072", "--format", "{{.Name}} {{.MaxUID}} {{.MaxGID}} {{.Fits}}"}, code: 0,
			stdout: []string{"fits:latest 0 1000 true\nhigh:latest 70000 75000 true\n"}},
		{name: "Table", args: []string{"--size", "65536"}, code: 1,
			stdout: []string{"IMAGE", "MAX UID", "high:latest", "70000", "75000", "does not fit", "high:latest: files at the highest ids", "etc/.wh.motd"},
			stderr: "check-image: 1 of 2 images do not fit"},
		{name: "DaemonMapping", args: []string{"--format", "{{.Message}}"}, viaDocker: true, code: 0,
			stdout: []string{"fits: the daemon does not remap ids"}},
		{name: "UserWithoutRanges", args: []string{"--root", "/nonexistent-root", "--user", "agent"}, code: 1,
			stderr: "check-image --user agent: root /nonexistent-root: no such directory"},
		{name: "BadSize", args: []string{"--size", "0"}, code: 1, stderr: "check --size 0: want 1 to 4294967294"},
		{name: "BadSource", args: []string{"--source", "ftp"}, code: 1, stderr: `parse source "ftp"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check-image", "--source", "file", tarball}, tc.args...)
			if tc.name == "BadSource" {
				args = append([]string{"check-image", tarball}, tc.args...)
			}
			run := runPlugin(t, tc.viaDocker, args...)
			if run.code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", run.code, tc.code, run.stdout, run.stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(run.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, run.stdout)
				}
			}
			if !strings.Contains(run.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, run.stderr)
			}
		})
	}
}

func TestCheckImageMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.tar")
	run := runPlugin(t, false, "check-image", "--source", "file", "--size", "65536", missing)
	if run.code != 1 {
		t.Errorf("exit code %d, want 1", run.code)
	}
	first, _, _ := strings.Cut(run.stderr, "\n")
	if !strings.HasPrefix(first, "check-image "+missing+": ") || !strings.Contains(first, "no such file") {
		t.Errorf("first stderr line %q does not name the path and the cause", first)
	}
}

// TestCheckImageDaemon loads the fixture into the local daemon and reads it
// back through the daemon's API (docker save streamed, nothing on disk).
// It needs a Docker daemon and fails without one.
func TestCheckImageDaemon(t *testing.T) {
	tag := fmt.Sprintf("%d", time.Now().UnixNano())
	fitsRef, highRef := "docker-userns-check-fits:"+tag, "docker-userns-check-high:"+tag
	tarball := checkImageFixture(t, fitsRef, highRef)
	if out, err := command(t, "docker", "load", "-i", tarball).CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = command(t, "docker", "rmi", fitsRef, highRef).Run() })
	for _, source := range []string{"daemon", "auto"} {
		t.Run(source, func(t *testing.T) {
			run := runPlugin(t, true, "check-image", "--source", source, "--size", "65536", "--format", "json", fitsRef, highRef)
			if run.code != 1 {
				t.Errorf("exit code %d, want 1\nstderr: %s", run.code, run.stderr)
			}
			rows := decodeCheckImageRows(t, run)
			if len(rows) != 2 {
				t.Fatalf("got %d rows, want 2: %s", len(rows), run.stdout)
			}
			if r := rows[0]; r.Name != fitsRef || r.Source != "daemon" || !r.Fits || r.MaxGID != 1000 || r.Entries != 3 {
				t.Errorf("fits row: %+v", r)
			}
			if r := rows[1]; r.Name != highRef || r.Source != "daemon" || r.Fits || r.MaxUID != 70000 || r.MaxGID != 75000 || r.Entries != 6 {
				t.Errorf("high row: %+v", r)
			}
		})
	}
}
