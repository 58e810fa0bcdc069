package main_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// TestEnableAsksDockerdToValidateFirst: a daemon.json that dockerd would
// refuse (an operator's bad edit, not yet picked up by the running daemon)
// is caught by the host's own `dockerd --validate` before anything is
// written or restarted. Docker 20.10 has no --validate: not run there.
func TestEnableAsksDockerdToValidateFirst(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		major, _ := strconv.Atoi(strings.SplitN(v.Name, ".", 2)[0])
		if major < 23 {
			t.Logf("Docker %s has no dockerd --validate: enable cannot ask it (nothing to test)", v.Name)
			return
		}
		d, ctx := startHost(t, v)
		bad := "{\n  \"log-level\": \"chatty\"\n}\n"
		if err := d.WriteFile(ctx, "/etc/docker/daemon.json", []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		before := d.MustExec(t, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid")
		pid := d.MustExec(t, "cat", "/var/run/docker.pid")
		res, err := d.Exec(ctx, "docker", "userns", "enable", "agent")
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "dockerd refuses the new daemon.json") || !strings.Contains(res.Stderr, "chatty") {
			t.Fatalf("enable: want a refusal quoting dockerd about \"chatty\", got exit %d: %s", res.ExitCode, res.Stderr)
		}
		if after := d.MustExec(t, "sha256sum", "/etc/docker/daemon.json", "/etc/subuid", "/etc/subgid"); after != before {
			t.Errorf("files changed:\n%s\nwant\n%s", after, before)
		}
		if now := d.MustExec(t, "cat", "/var/run/docker.pid"); now != pid {
			t.Errorf("dockerd restarted: pid %s, was %s", now, pid)
		}
	})
}
