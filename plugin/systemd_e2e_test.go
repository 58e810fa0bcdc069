package main_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// fastRestart is a daemon.json under which dockerd restarts in about half
// a second (no iptables rules, no bridge): a restart that systemd's socket
// hides completely, since requests made meanwhile wait less than a client's
// timeout. The probe containers need no network.
const fastRestart = `{"iptables": false, "bridge": "none"}` + "\n"

// startSystemdHost starts a host of the systemd flavour (dockerd run by the
// Debian package's docker.service behind docker.socket) with the plugin and
// the CI user agent, and checks that it is socket-activated indeed.
func startSystemdHost(t *testing.T, img harness.Image, daemonJSON string) (*harness.DinD, context.Context) {
	t.Helper()
	ctx := context.Background()
	bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	d := harness.Start(t, img.Ref, harness.WithPlugin(bin))
	d.MustExec(t, "useradd", "-r", "-M", "agent")
	if err := d.WriteFile(ctx, "/etc/docker/daemon.json", []byte(daemonJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.RestartDaemon(ctx); err != nil {
		t.Fatal(err)
	}
	if got := d.MustExec(t, "systemctl", "show", "-p", "TriggeredBy", "--value", "docker.service"); !strings.Contains(got, "docker.socket") {
		t.Fatalf("docker.service is not socket-activated on %s: TriggeredBy=%s", img.Ref, got)
	}
	return d, ctx
}

// daemonSays is what the daemon itself reports: remapped, and its data root.
func daemonSays(t *testing.T, d *harness.DinD) (remapped bool, dataRoot string) {
	t.Helper()
	out := d.MustExec(t, "docker", "info", "--format", "{{json .SecurityOptions}} {{.DockerRootDir}}")
	opts, root, _ := strings.Cut(out, " ")
	return strings.Contains(opts, "name=userns"), root
}

// TestEnableDisableOnSocketActivatedSystemdHost: on a server's setup
// (systemd, docker.socket keeping /run/docker.sock open across the restart)
// enable and disable finish as soon as the new daemon is verified, on the
// host and through the daemon, and the daemon really remaps, then does not.
// Before, the client waited for an outage that never came and the host
// agent reverted at its 60 s confirm deadline.
func TestEnableDisableOnSocketActivatedSystemdHost(t *testing.T) {
	for _, img := range harness.Images(harness.Systemd) {
		t.Run(img.Name(), func(t *testing.T) {
			t.Parallel()
			d, ctx := startSystemdHost(t, img, fastRestart)
			uid := d.MustExec(t, "id", "-u", "agent")
			gid := d.MustExec(t, "id", "-g", "agent")
			invocation := func() string {
				return d.MustExec(t, "systemctl", "show", "-p", "InvocationID", "--value", "docker.service")
			}

			for _, via := range []string{"local", "daemon"} {
				before := invocation()
				start := time.Now()
				res, err := d.Exec(ctx, "docker", "userns", "enable", "--via", via, "agent")
				took := time.Since(start)
				if err != nil || res.ExitCode != 0 {
					t.Fatalf("enable --via %s: exit %d after %s: %v\n%s%s", via, res.ExitCode, took, err, res.Stdout, res.Stderr)
				}
				t.Logf("enable --via %s: %s", via, took.Round(100*time.Millisecond))
				if took > 50*time.Second { // the agent would revert at 60 s
					t.Errorf("enable --via %s took %s: the restart was not seen", via, took)
				}
				if remapped, root := daemonSays(t, d); !remapped || root != "/var/lib/docker/"+uid+"."+gid {
					t.Errorf("after enable --via %s the daemon says remapped %v, data root %s; want name=userns and /var/lib/docker/%s.%s", via, remapped, root, uid, gid)
				}
				if after := invocation(); after == before {
					t.Errorf("docker.service was not restarted (InvocationID %s unchanged)", after)
				}
				if got := d.MustExec(t, "systemctl", "is-active", "docker.service", "docker.socket"); got != "active\nactive" {
					t.Errorf("units after enable: %q", got)
				}

				start = time.Now()
				res, err = d.Exec(ctx, "docker", "userns", "disable", "--via", via)
				took = time.Since(start)
				if err != nil || res.ExitCode != 0 {
					t.Fatalf("disable --via %s: exit %d after %s: %v\n%s%s", via, res.ExitCode, took, err, res.Stdout, res.Stderr)
				}
				t.Logf("disable --via %s: %s", via, took.Round(100*time.Millisecond))
				if remapped, root := daemonSays(t, d); remapped || root != "/var/lib/docker" {
					t.Errorf("after disable --via %s the daemon says remapped %v, data root %s", via, remapped, root)
				}
			}
			if left := d.MustExec(t, "sh", "-c", "ls /var/lib/docker-userns/pending.json 2>/dev/null; docker ps -aq"); left != "" {
				t.Errorf("left behind: %s", left)
			}
		})
	}
}

// TestSystemdStartLimitRevert: Debian's docker.service allows 3 starts in
// 60 s. After three quick restarts an enable whose daemon cannot start (its
// data root's parent is closed to the remapped root) must still come back:
// the host agent resets the unit's failed state before its restarts, so the
// host ends unremapped, with its files as before and docker.service active.
// Before, systemd refused the revert's start and docker stayed dead.
func TestSystemdStartLimitRevert(t *testing.T) {
	for _, img := range harness.Images(harness.Systemd) {
		t.Run(img.Name(), func(t *testing.T) {
			t.Parallel()
			d, ctx := startSystemdHost(t, img, `{"iptables": false, "bridge": "none", "data-root": "/srv/private/docker"}`+"\n")
			d.MustExec(t, "install", "-d", "-m", "0700", "/srv/private")
			if err := d.RestartDaemon(ctx); err != nil {
				t.Fatal(err)
			}
			files := d.MustExec(t, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid")
			d.MustExec(t, "sh", "-c", "systemctl reset-failed docker.service; systemctl restart docker; systemctl restart docker; systemctl restart docker")

			start := time.Now()
			res, err := d.Exec(ctx, "docker", "userns", "enable", "--force", "agent")
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode == 0 {
				t.Fatalf("enable succeeded on a daemon that cannot start remapped:\n%s", res.Stdout)
			}
			t.Logf("enable reverted after %s:\n%s", took.Round(100*time.Millisecond), res.Stderr)
			for _, want := range []string{"daemon cannot start: its log says: ", "restricts access", "the daemon answers with its old config", "journalctl -u docker.service"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("enable's error lacks %q", want)
				}
			}
			if got := d.MustExec(t, "systemctl", "is-active", "docker"); got != "active" {
				t.Errorf("systemctl is-active docker: %s", got)
			}
			if remapped, root := daemonSays(t, d); remapped || root != "/srv/private/docker" {
				t.Errorf("daemon after the revert: remapped %v, data root %s", remapped, root)
			}
			if after := d.MustExec(t, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid"); after != files {
				t.Errorf("files differ after the revert:\n%s\nwant:\n%s", after, files)
			}
		})
	}
}

// TestSystemdHangingStartReverts: docker.service has TimeoutStartSec=0, so
// systemd waits forever for a dockerd that never says it is ready. The
// host agent bounds the start by --timeout, stops it and reverts. (Here a
// drop-in's ExecStartPre hangs while daemon.json sets userns-remap.)
func TestSystemdHangingStartReverts(t *testing.T) {
	img := harness.Images(harness.Systemd)[0]
	d, ctx := startSystemdHost(t, img, fastRestart)
	hang := "[Service]\nExecStartPre=/bin/sh -c 'if grep -q userns-remap /etc/docker/daemon.json; then exec sleep 1000; fi'\n"
	if err := d.WriteFile(ctx, "/etc/systemd/system/docker.service.d/hang.conf", []byte(hang), 0o644); err != nil {
		t.Fatal(err)
	}
	d.MustExec(t, "systemctl", "daemon-reload")
	files := d.MustExec(t, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid")

	start := time.Now()
	res, err := d.Exec(ctx, "docker", "userns", "enable", "--timeout", "10s", "agent")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("enable after %s: exit %d\n%s", took.Round(100*time.Millisecond), res.ExitCode, res.Stderr)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "the start job did not finish within 10s") || !strings.Contains(res.Stderr, "old config") {
		t.Errorf("want a revert naming the start that hung, got exit %d: %s", res.ExitCode, res.Stderr)
	}
	if took > 45*time.Second {
		t.Errorf("the revert took %s: the start was not bounded by --timeout", took)
	}
	if got := d.MustExec(t, "systemctl", "is-active", "docker"); got != "active" {
		t.Errorf("systemctl is-active docker: %s", got)
	}
	if remapped, root := daemonSays(t, d); remapped || root != "/var/lib/docker" {
		t.Errorf("daemon after the revert: remapped %v, data root %s", remapped, root)
	}
	if after := d.MustExec(t, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid"); after != files {
		t.Errorf("files differ after the revert:\n%s\nwant:\n%s", after, files)
	}
}
