package main_test

import (
	"context"
	"encoding/json"
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
	mustExec(t, d, "useradd", "-r", "-M", "agent")
	mustExec(t, d, "useradd", "-m", "-u", "1000", "alice")
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

func mustExec(t *testing.T, d *harness.DinD, cmd ...string) string {
	t.Helper()
	out, err := d.ExecOK(context.Background(), cmd...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// TestEnableOwnerLayoutEndToEnd: after `enable agent`, container root writes
// into a bind mount as agent, container uid 1000 is nobody on the host, a
// second enable changes nothing, and disable returns daemon.json byte for byte.
func TestEnableOwnerLayoutEndToEnd(t *testing.T) {
	for _, v := range harness.Versions() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			d, ctx := startHost(t, v)
			if err := d.WriteFile(ctx, "/etc/docker/daemon.json", []byte("{\n  \"debug\": false\n}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := d.RestartDaemon(ctx); err != nil {
				t.Fatal(err)
			}
			before := mustExec(t, d, "sha256sum", "/etc/docker/daemon.json")

			out := mustExec(t, d, "docker", "userns", "enable", "agent")
			t.Logf("enable:\n%s", out)
			agentUID := mustExec(t, d, "id", "-u", "agent")
			importBusybox(t, d)

			mustExec(t, d, "mkdir", "-p", "/work/repo")
			mustExec(t, d, "chown", "agent", "/work/repo")
			mustExec(t, d, "docker", "run", "--rm", "-v", "/work/repo:/repo", "busybox", "sh", "-c", "touch /repo/by-root && touch /repo/by-1000 && chown 1000:1000 /repo/by-1000")
			if got := mustExec(t, d, "stat", "-c", "%u", "/work/repo/by-root"); got != agentUID {
				t.Errorf("file written by container root is owned by host uid %s, want agent (%s)", got, agentUID)
			}
			owner1000 := mustExec(t, d, "stat", "-c", "%u", "/work/repo/by-1000")
			if res, _ := d.Exec(ctx, "getent", "passwd", owner1000); res.ExitCode == 0 {
				t.Errorf("container uid 1000 landed on host user %s", strings.TrimSpace(res.Stdout))
			}

			again, err := d.Exec(ctx, "docker", "userns", "enable", "agent")
			if err != nil || again.ExitCode != 0 || !strings.Contains(again.Stdout, "nothing written, no restart") {
				t.Errorf("second enable: want a no-op, got %+v %v", again, err)
			}

			mustExec(t, d, "docker", "userns", "disable")
			if after := mustExec(t, d, "sha256sum", "/etc/docker/daemon.json"); after != before {
				t.Errorf("daemon.json after disable differs from before enable")
			}
			if info := mustExec(t, d, "docker", "info", "--format", "{{.SecurityOptions}}"); strings.Contains(info, "userns") {
				t.Errorf("daemon still remapped after disable: %s", info)
			}
		})
	}
}

// TestEnableRollsBackWhenDaemonCannotStart: a data root whose parent only
// root may enter keeps a remapped daemon from starting; enable must restore
// every file, bring the old daemon back and lose nothing made before.
func TestEnableRollsBackWhenDaemonCannotStart(t *testing.T) {
	for _, v := range harness.Versions() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			d, ctx := startHost(t, v)
			mustExec(t, d, "install", "-d", "-m", "0700", "/srv/private")
			if err := d.WriteFile(ctx, "/etc/docker/daemon.json", []byte("{\"data-root\": \"/srv/private/docker\"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := d.RestartDaemon(ctx); err != nil {
				t.Fatal(err)
			}
			importBusybox(t, d)
			mustExec(t, d, "docker", "volume", "create", "keepme")
			files := mustExec(t, d, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid")

			refused, err := d.Exec(ctx, "docker", "userns", "enable", "agent")
			if err != nil || refused.ExitCode == 0 || !strings.Contains(refused.Stderr, "/srv/private (-rwx------)") {
				t.Errorf("enable without --force: want a refusal naming /srv/private, got %+v %v", refused, err)
			}
			res, err := d.Exec(ctx, "docker", "userns", "enable", "--force", "--timeout", "60s", "agent")
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode == 0 {
				t.Fatalf("enable succeeded on a daemon that cannot start remapped:\n%s", res.Stdout)
			}
			t.Logf("enable failed as expected:\n%s", res.Stderr)
			// Stopping on the log's refusal, not after the whole timeout.
			if !strings.Contains(res.Stderr, "daemon cannot start: its log says: a subdirectory in your graphroot path") {
				t.Errorf("enable did not stop on the daemon's refusal in its log")
			}
			for _, want := range []string{"restored", "old config", "daemon log"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("enable's error lacks %q", want)
				}
			}
			if after := mustExec(t, d, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid"); after != files {
				t.Errorf("files differ after rollback:\n%s\nwant:\n%s", after, files)
			}
			if info := mustExec(t, d, "docker", "info", "--format", "{{.SecurityOptions}} {{.DockerRootDir}}"); strings.Contains(info, "userns") || !strings.HasSuffix(info, "/srv/private/docker") {
				t.Errorf("daemon after rollback: %s", info)
			}
			mustExec(t, d, "docker", "image", "inspect", "busybox:latest")
			mustExec(t, d, "docker", "volume", "inspect", "keepme")
		})
	}
}

// TestDoctorFailsOnContiguousCollision: the seed's contiguous layout puts
// container uid 1 on alice (uid 1000, agent is 999); doctor must FAIL.
func TestDoctorFailsOnContiguousCollision(t *testing.T) {
	v := harness.Versions()[0]
	d, ctx := startHost(t, v)
	mustExec(t, d, "usermod", "-u", "999", "agent")
	mustExec(t, d, "sh", "-c", "echo agent:999:65537 >> /etc/subuid && echo agent:999:65537 >> /etc/subgid && echo '{\"userns-remap\": \"agent\"}' > /etc/docker/daemon.json")
	res, err := d.Exec(ctx, "docker", "userns", "doctor")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Stdout, "FAIL") || !strings.Contains(res.Stdout, "alice") {
		t.Errorf("doctor on a contiguous range over alice: want exit 1 and a FAIL naming alice, got %d:\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
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
	out := mustExec(t, d, "docker", "userns", "doctor", "--format", "json")
	var findings []struct{ Check, Verdict, Detail string }
	if err := json.Unmarshal([]byte(out), &findings); err != nil {
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
