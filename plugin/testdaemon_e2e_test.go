package main_test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// testReport is `docker userns test --format json`: one object.
type testReport struct {
	OK             bool     `json:"ok"`
	Failed         []string `json:"failed"`
	Incomplete     []string `json:"incomplete"`
	HostFilesError string   `json:"hostFilesError"`
	Checks         []struct {
		Name, Status, Observed string
	} `json:"checks"`
}

// junitCounts are the counts of a JUnit file's testsuites.
type junitCounts struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitCounts {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitCounts
	if err := xml.Unmarshal(data, &j); err != nil {
		t.Fatalf("junit report: %v\n%s", err, data)
	}
	return j
}

// denyUsernsHost builds the authorization plugin of testdata/denyusernshost
// (static), runs it in d and restarts d's daemon with it: from then on the
// daemon refuses --userns=host containers, so no helper starts.
func denyUsernsHost(t *testing.T, d *harness.DinD) {
	t.Helper()
	ctx := t.Context()
	bin := filepath.Join(t.TempDir(), "denyusernshost")
	build := command(t, "go", "build", "-o", bin, "./testdata/denyusernshost")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the authorization plugin: %v\n%s", err, out)
	}
	if err := d.CopyFile(ctx, bin, "/usr/local/bin/denyusernshost", 0o755); err != nil {
		t.Fatal(err)
	}
	d.MustExec(t, "sh", "-c", "setsid /usr/local/bin/denyusernshost >/tmp/denyusernshost.log 2>&1 < /dev/null & "+
		"for i in $(seq 50); do test -S /run/docker/plugins/deny-userns-host.sock && exit 0; sleep 0.1; done; exit 1")
	data, err := d.ReadFile(ctx, "/etc/docker/daemon.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["authorization-plugins"] = []string{"deny-userns-host"}
	data, _ = json.MarshalIndent(cfg, "", "  ")
	if err := d.WriteFile(ctx, "/etc/docker/daemon.json", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.RestartDaemon(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := d.Exec(ctx, "docker", "run", "--rm", "--userns=host", "--network=none", "busybox-absent-image"); !strings.Contains(res.Stderr, "not allowed") {
		t.Fatalf("the daemon does not refuse --userns=host: %s", res.Stderr)
	}
}

// TestUsernsTestThroughTheDaemon is issue 15's `docker userns test` from
// outside the host, with only its Docker context: the host part runs in a
// helper container, all five checks pass as they do on the host, nothing
// stays there; status through the daemon does not count its own helper;
// --context gives one result per host; and once the daemon refuses the
// helper (an authorization plugin refusing --userns=host), the checks that
// need the host's files are SKIP and the run exits 2, incomplete, in the
// table, the JSON and the JUnit report, still leaving nothing behind.
func TestUsernsTestThroughTheDaemon(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		hosts, config := fleetHosts(t, v, 1)
		d := hosts[0]
		if res := dockerWith(t, config, "--context", "h1", "userns", "enable", "agent"); res.code != 0 {
			t.Fatalf("enable through the daemon: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		before := leftovers(t, d)
		junit := filepath.Join(t.TempDir(), "userns-test.xml")

		res := dockerWith(t, config, "--context", "h1", "userns", "test", "--junit", junit)
		t.Logf("test through the daemon:\n%s%s", res.stdout, res.stderr)
		if res.code != 0 || strings.Count(res.stdout, "PASS  ") != 5 {
			t.Errorf("test through the daemon: exit %d, want 0 and 5 PASS", res.code)
		}
		agentUID := d.MustExec(t, "id", "-u", "agent")
		if !strings.Contains(res.stdout, "observed  owned by "+agentUID+":") {
			t.Errorf("bind mount owner: want the agent's uid %s observed on the host", agentUID)
		}
		if j := readJUnit(t, junit); len(j.Suites) != 1 || j.Suites[0].Tests != 5 || j.Suites[0].Failures != 0 || j.Suites[0].Skipped != 0 {
			t.Errorf("junit %+v, want one suite of 5 tests, none failed or skipped", j)
		}
		if after := leftovers(t, d); after != before {
			t.Errorf("test through the daemon left things behind: before %q, after %q", before, after)
		}

		st := dockerWith(t, config, "--context", "h1", "userns", "status")
		if st.code != 0 || strings.Contains(st.stdout, "docker-userns-helper") || strings.Contains(st.stdout, "--userns=host") {
			t.Errorf("status through the daemon: exit %d, warns about the plugin's own helper:\n%s%s", st.code, st.stdout, st.stderr)
		}

		fl := dockerWith(t, config, "userns", "test", "--context", "h1", "--format", "json")
		var row struct {
			Host, Result string
			Detail       testReport
		}
		if err := json.Unmarshal([]byte(fl.stdout), &row); err != nil {
			t.Fatalf("fleet test JSON: %v\n%s", err, fl.stdout)
		}
		if fl.code != 0 || row.Host != "h1" || row.Result != "PASS" || len(row.Detail.Checks) != 5 || !row.Detail.OK {
			t.Errorf("fleet test: exit %d, %+v\n%s", fl.code, row, fl.stderr)
		}

		denyUsernsHost(t, d)
		before = leftovers(t, d)
		res = dockerWith(t, config, "--context", "h1", "userns", "test", "--junit", junit, "--format", "json")
		t.Logf("test through a daemon that refuses the helper:\n%s%s", res.stdout, res.stderr)
		var rep testReport
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
			t.Fatalf("json report: %v\n%s", err, res.stdout)
		}
		wantSkipped := []string{"id map matches host files", "bind mount owner", "root-only file unreadable", "uid range boundary"}
		if res.code != 2 || !strings.Contains(res.stderr, "incomplete") || strings.Contains(res.stderr, "failed") {
			t.Errorf("helper refused: exit %d, want 2 saying incomplete, not failed: %s", res.code, res.stderr)
		}
		if rep.OK || len(rep.Failed) != 0 || !slices.Equal(rep.Incomplete, wantSkipped) || !strings.Contains(rep.HostFilesError, "not allowed on this daemon") {
			t.Errorf("helper refused: report %+v", rep)
		}
		for _, c := range rep.Checks {
			if slices.Contains(wantSkipped, c.Name) && (c.Status != "SKIP" || !strings.HasPrefix(c.Observed, "needs the host's files: ")) {
				t.Errorf("check %+v, want SKIP needing the host's files", c)
			}
		}
		if j := readJUnit(t, junit); len(j.Suites) != 1 || j.Suites[0].Tests != 5 || j.Suites[0].Failures != 0 || j.Suites[0].Skipped != 4 {
			t.Errorf("junit %+v, want one suite of 5 tests, 4 skipped, none failed", j)
		}
		if after := leftovers(t, d); after != before {
			t.Errorf("incomplete test left things behind: before %q, after %q", before, after)
		}
	})
}

// BenchmarkTestThroughDaemon: `docker userns test` from outside the host
// through its Docker context (the host part in a helper container) against
// the same test run on the host itself (shell clock, no exec round trip).
func BenchmarkTestThroughDaemon(b *testing.B) {
	hosts, config := benchFleet(b, 1)
	timed(b, hosts[0], "docker userns enable agent && docker userns test")
	var via, local []time.Duration
	for b.Loop() {
		via = append(via, wallTime(b, config, "--context", "h1", "userns", "test"))
		local = append(local, timed(b, hosts[0], "docker userns test"))
	}
	report(b, "through-daemon", "local", via, local)
}
