package main_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// leftovers lists what `docker userns test` could leave behind in the DinD
// host: containers, images (of the daemon's current data root) and
// temporary directories.
func leftovers(t *testing.T, d *harness.DinD) string {
	t.Helper()
	ctx := context.Background()
	var parts []string
	for _, cmd := range [][]string{
		{"docker", "ps", "-aq"},
		{"docker", "images", "-aq"},
		{"sh", "-c", "ls -d /tmp/docker-userns-test-* 2>/dev/null || true"},
	} {
		out, err := d.ExecOK(ctx, cmd...)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, strings.Join(strings.Fields(out), " "))
	}
	return strings.Join(parts, " | ")
}

// TestUsernsTestCommandEndToEnd: `docker userns test` fails on an
// unremapped daemon naming "remapping on", passes after `enable agent`
// (run by root, with a JUnit report of five passing testcases, and by a
// non-root docker-group user) and after `enable default`, and leaves
// nothing behind.
func TestUsernsTestCommandEndToEnd(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := context.Background()
		bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
		d := harness.Start(t, v.Image, harness.WithPlugin(bin))
		d.MustExec(t, "useradd", "-r", "-M", "agent")

		before := leftovers(t, d)
		res, err := d.Exec(ctx, "docker", "userns", "test", "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("unremapped:\n%s%s", res.Stdout, res.Stderr)
		if res.ExitCode != 1 {
			t.Errorf("unremapped daemon: exit %d, want 1", res.ExitCode)
		}
		if !strings.Contains(res.Stderr, "remapping on") {
			t.Errorf("unremapped daemon: stderr does not name the failed check %q: %s", "remapping on", res.Stderr)
		}
		var report struct {
			OK     bool     `json:"ok"`
			Failed []string `json:"failed"`
			Checks []struct {
				Name, Status, Expected, Observed string
			} `json:"checks"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &report); err != nil {
			t.Fatalf("json report: %v\n%s", err, res.Stdout)
		}
		if report.OK || !slices.Contains(report.Failed, "remapping on") || len(report.Checks) != 5 {
			t.Errorf("unremapped daemon: want 5 checks with %q failed, got %+v", "remapping on", report)
		}
		if after := leftovers(t, d); after != before {
			t.Errorf("unremapped run left things behind: before %q, after %q", before, after)
		}

		d.MustExec(t, "docker", "userns", "enable", "agent")
		before = leftovers(t, d)
		res, err = d.Exec(ctx, "docker", "userns", "test", "--junit", "/tmp/userns-test.xml")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after enable agent:\n%s%s", res.Stdout, res.Stderr)
		if res.ExitCode != 0 {
			t.Errorf("remapped daemon: exit %d, want 0:\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
		}
		if n := strings.Count(res.Stdout, "PASS  "); n != 5 {
			t.Errorf("remapped daemon: %d checks PASS, want 5", n)
		}
		agentUID := d.MustExec(t, "id", "-u", "agent")
		if !strings.Contains(res.Stdout, "observed  owned by "+agentUID+":") {
			t.Errorf("bind mount owner: want the agent's uid %s observed:\n%s", agentUID, res.Stdout)
		}
		if after := leftovers(t, d); after != before {
			t.Errorf("remapped run left things behind: before %q, after %q", before, after)
		}

		// A CI user in the docker group, not root: the root-only file
		// comes from a probe that opts out of remapping.
		d.MustExec(t, "sh", "-c", "getent group docker >/dev/null || groupadd -r docker; chgrp docker /var/run/docker.sock")
		d.MustExec(t, "useradd", "-m", "-G", "docker", "ci")
		before = leftovers(t, d)
		res, err = d.ExecAs(ctx, "ci", "docker", "userns", "test")
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || strings.Count(res.Stdout, "PASS  ") != 5 {
			t.Errorf("remapped daemon, run by a non-root user: exit %d, want 0 and 5 PASS:\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
		}
		if after := leftovers(t, d); after != before {
			t.Errorf("non-root run left things behind: before %q, after %q", before, after)
		}

		data, err := d.ReadFile(ctx, "/tmp/userns-test.xml")
		if err != nil {
			t.Fatal(err)
		}
		var junit struct {
			Suite struct {
				Name     string `xml:"name,attr"`
				Tests    int    `xml:"tests,attr"`
				Failures int    `xml:"failures,attr"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(data, &junit); err != nil {
			t.Fatalf("junit report: %v\n%s", err, data)
		}
		if junit.Suite.Name != "docker userns test" || junit.Suite.Tests != 5 || junit.Suite.Failures != 0 {
			t.Errorf("junit testsuite %+v, want docker userns test with 5 tests, 0 failures", junit.Suite)
		}

		// The isolated layout: container root is the first id of
		// dockremap's range, a uid of no user.
		d.MustExec(t, "docker", "userns", "disable")
		d.MustExec(t, "docker", "userns", "enable", "default")
		res, err = d.Exec(ctx, "docker", "userns", "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("after enable default:\n%s%s", res.Stdout, res.Stderr)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "(first subordinate ids of dockremap)") {
			t.Errorf("isolated layout: exit %d, want 0 and container root on dockremap's range:\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
		}
	})
}
