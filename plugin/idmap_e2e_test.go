package main_test

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// TestIDMapModelMatchesEachDaemon confirms the idmap model on real daemons
// of every version: lines out of order, uid-keyed lines beside name-keyed
// ones (where Docker 26.1 and 28.5 differ), and /etc/subgid looked up by
// the remap user rather than its group. The map a container really gets
// must be the one the model predicts for that daemon's version.
func TestIDMapModelMatchesEachDaemon(t *testing.T) {
	layouts := []struct{ name, setting, subuid, subgid string }{
		{name: "file order", setting: "alice",
			subuid: "alice:200000:65536\nalice:1000:1\n",
			subgid: "alice:1000:1\nalice:200000:65536\n"},
		{name: "uid-keyed beside name-keyed", setting: "alice",
			subuid: "alice:100000:65536\n1000:1000:1\n1000:300000:65536\n",
			subgid: "alice:1000:1\nalice:100000:65536\n"},
		{name: "subgid by the user, not the group", setting: "alice:docker",
			subuid: "alice:1000:1\nalice:100000:65536\n",
			subgid: "docker:500000:65536\n1000:1000:1\n1000:100000:65536\n"},
	}
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		d, ctx := startHost(t, v)
		for _, l := range layouts {
			write := func(path, content string) {
				if err := d.WriteFile(ctx, path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("/etc/subuid", l.subuid)
			write("/etc/subgid", l.subgid)
			write("/etc/docker/daemon.json", `{"userns-remap": "`+l.setting+`"}`)
			if err := d.RestartDaemon(ctx); err != nil {
				t.Fatalf("%s: %v", l.name, err)
			}
			importBusybox(t, d)
			version := d.MustExec(t, "docker", "version", "--format", "{{.Server.Version}}")
			want := predicted(t, version, l.subuid, l.subgid)
			got := observedMaps(t, d, ctx)
			if got != want {
				t.Errorf("%s on Docker %s: the container gets %q, the model predicts %q", l.name, version, got, want)
			}
		}
	})
}

// predicted is the model's "uid MAP; gid MAP" for alice (uid 1000).
func predicted(t *testing.T, version, subuid, subgid string) string {
	t.Helper()
	owner := idmap.Owner{Name: "alice", UID: 1000, Known: true}
	rule := idmap.RuleFor(version)
	maps := make([]string, 2)
	for i, text := range []string{subuid, subgid} {
		f, err := subid.Parse("/etc/subuid", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		maps[i] = rule.Of(f, owner).String()
	}
	return "uid " + maps[0] + "; gid " + maps[1]
}

// observedMaps reads a container's uid_map and gid_map in the model's form.
func observedMaps(t *testing.T, d *harness.DinD, ctx context.Context) string {
	t.Helper()
	out := d.MustExec(t, "docker", "run", "--rm", "busybox", "sh", "-c", "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map")
	uid, gid, _ := strings.Cut(out, "--")
	return "uid " + joinMapLines(uid) + "; gid " + joinMapLines(gid)
}

func joinMapLines(text string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, ", ")
}
