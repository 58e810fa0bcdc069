package main_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/harness/fixtureimage"
)

// startHost starts a throwaway Docker host with the built plugin, a busybox
// image and the CI user agent (a system user: no subuid entry of its own).
func startHost(t *testing.T, v harness.Version) (*harness.DinD, context.Context) {
	t.Helper()
	ctx := context.Background()
	bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	d := harness.Start(t, v.Image, harness.WithPlugin(bin))
	d.MustExec(t, "useradd", "-r", "-M", "agent")
	d.MustExec(t, "useradd", "-m", "-u", "1000", "alice")
	return d, ctx
}

// importBusybox makes the busybox image in the daemon's current data root
// (images made before enable are not visible under remapping).
func importBusybox(t *testing.T, d *harness.DinD) {
	t.Helper()
	if err := d.ImportBusybox(context.Background(), "busybox:latest"); err != nil {
		t.Fatal(err)
	}
}

// TestDoctorWarnsAboutImagesTooWideForRemapping: an unremapped daemon
// holding an image with a uid 70000 file gets a WARN naming it, since a
// default range could not map it after the switch.
func TestDoctorWarnsAboutImagesTooWideForRemapping(t *testing.T) {
	d, ctx := startHost(t, harness.Versions()[0])
	img, err := fixtureimage.Image(fixtureimage.File{Path: "/data/high", UID: 70000, GID: 70000})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.LoadImage(ctx, "fixture/high:1", img); err != nil {
		t.Fatal(err)
	}
	out := d.MustExec(t, "docker", "userns", "doctor", "--format", "json")
	findings, err := harness.JSONLines[struct{ Check, Verdict, Detail string }](out)
	if err != nil {
		t.Fatalf("doctor --format json: %v\n%s", err, out)
	}
	for _, f := range findings {
		if f.Check == "local images" {
			if f.Verdict != "WARN" || !strings.Contains(f.Detail, "fixture/high:1 (needs 70001 ids)") {
				t.Errorf("local images finding: %+v", f)
			}
			return
		}
	}
	t.Errorf("doctor has no local images finding:\n%s", out)
}
