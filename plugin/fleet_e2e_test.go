package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// fleetHosts starts n DinD hosts, each with the users agent and alice, and
// a docker config dir holding the plugin and a context h1..hn per host.
func fleetHosts(t *testing.T, v harness.Version, n int) ([]*harness.DinD, string) {
	t.Helper()
	hosts := harness.StartHosts(t, v.Image, n)
	config := t.TempDir()
	if err := os.Symlink(filepath.Join(dockerConfigWithPlugin(t), "cli-plugins"), filepath.Join(config, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	for i, d := range hosts {
		d.MustExec(t, "useradd", "-r", "-M", "agent")
		d.MustExec(t, "useradd", "-m", "-u", "1000", "alice")
		if err := harness.CreateContext(t.Context(), config, fmt.Sprintf("h%d", i+1), d); err != nil {
			t.Fatal(err)
		}
	}
	return hosts, config
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// dockerWith runs the real docker CLI with config as its config dir.
func dockerWith(t *testing.T, config string, args ...string) cliResult {
	t.Helper()
	return dockerEnv(t, append(os.Environ(), "DOCKER_CONFIG="+config), args...)
}

// dockerEnv runs the real docker CLI in the environment env.
func dockerEnv(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	cmd := command(t, "docker", args...)
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// containerID is a container's directory name under <data-root>/containers.
var containerID = regexp.MustCompile(`(?m)^[0-9a-f]{64}$`)

// noHelperLeft checks that no helper container, image or record stays on
// the host, in the daemon's data root and in the one it had before.
func noHelperLeft(t *testing.T, d *harness.DinD) {
	t.Helper()
	if out := d.MustExec(t, "docker", "ps", "-aq"); out != "" {
		t.Errorf("containers left: %s", out)
	}
	if out := d.MustExec(t, "docker", "images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} made {{.CreatedSince}}"); out != "" {
		t.Errorf("images left: %s", out)
	}
	if out := d.MustExec(t, "sh", "-c", "grep -rl docker-userns-probe /var/lib/docker/image /var/lib/docker/*/image 2>/dev/null; ls /var/lib/docker/containers /var/lib/docker/*/containers 2>/dev/null | grep -v : ; ls /var/lib/docker-userns 2>/dev/null; true"); strings.Contains(out, "probe") || strings.Contains(out, "pending") || containerID.MatchString(out) {
		t.Errorf("helper leftovers on the host: %s", out)
	}
}

// TestEnableThroughTheDaemon: from outside the host, with only its Docker
// context, enable edits the host's files in a helper container, the host
// agent restarts the daemon and is confirmed, and nothing of the helper
// stays; disable the same way gives the files back byte for byte.
func TestEnableThroughTheDaemon(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		hosts, config := fleetHosts(t, v, 1)
		d := hosts[0]
		files := d.MustExec(t, "sha256sum", "/etc/subuid", "/etc/subgid")

		res := dockerWith(t, config, "--context", "h1", "userns", "enable", "agent")
		if res.code != 0 {
			t.Fatalf("enable through the daemon: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		t.Logf("enable said:\n%s%s", res.stderr, res.stdout)
		for _, want := range []string{"helper container", "host agent", "Remapping enabled"} {
			if !strings.Contains(res.stderr+res.stdout, want) {
				t.Errorf("enable's output lacks %q", want)
			}
		}
		// useradd -r picks agent's ids: 999 on bookworm and trixie, 996 on forky.
		uid, gid := d.MustExec(t, "id", "-u", "agent"), d.MustExec(t, "id", "-g", "agent")
		if got := d.MustExec(t, "docker", "info", "--format", "{{.DockerRootDir}}"); got != "/var/lib/docker/"+uid+"."+gid {
			t.Errorf("data root after enable: %s, want /var/lib/docker/%s.%s", got, uid, gid)
		}
		if got := d.MustExec(t, "grep", "^agent:", "/etc/subuid"); got != "agent:"+uid+":1\nagent:165536:65535" {
			t.Errorf("subuid: %q", got)
		}
		noHelperLeft(t, d)

		st := dockerWith(t, config, "--context", "h1", "userns", "status", "--format", "{{.Daemon.Remapped}} {{.Setting}}")
		if st.code != 0 || strings.TrimSpace(st.stdout) != "true agent" {
			t.Errorf("status through the daemon: exit %d %q %s", st.code, st.stdout, st.stderr)
		}

		res = dockerWith(t, config, "--context", "h1", "userns", "disable", "--remove-ranges")
		if res.code != 0 {
			t.Fatalf("disable through the daemon: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if after := d.MustExec(t, "sha256sum", "/etc/subuid", "/etc/subgid"); after != files {
			t.Errorf("files after disable:\n%s\nwant:\n%s", after, files)
		}
		if d.MustExec(t, "sh", "-c", "test -e /etc/docker/daemon.json || echo gone") != "gone" {
			t.Errorf("daemon.json that enable created is still there")
		}
		noHelperLeft(t, d)
	})
}

// fleetRow is one host of `--format json` output.
type fleetRow struct {
	Host, Result, Message string
	Failed                bool
}

// TestFleetRollout: three hosts; the canary is enabled, the second cannot
// start remapped and reverts by itself, the third is never touched; after
// the second is fixed, the same command converges, and once more changes
// nothing.
func TestFleetRollout(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		hosts, config := fleetHosts(t, v, 3)
		bad := hosts[1]
		breakHost(t, bad)
		before := make([]string, len(hosts))
		for i, d := range hosts {
			before[i] = d.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true")
		}
		enable := []string{"userns", "enable", "--force", "--parallel", "1", "--context", "h1", "--context", "h2", "--context", "h3"}

		res := dockerWith(t, config, append(enable, "--format", "json", "agent")...)
		t.Logf("first rollout:\n%s%s", res.stderr, res.stdout)
		if res.code == 0 {
			t.Errorf("a rollout with a reverted host exits 0")
		}
		rows := decodeRows(t, res.stdout)
		wantResults(t, rows, "enabled", "reverted", "skipped")
		if !strings.Contains(rows[1].Message, "daemon cannot start") {
			t.Errorf("h2's message does not give the daemon's reason: %q", rows[1].Message)
		}
		for i, d := range hosts[1:] {
			if after := d.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true"); after != before[i+1] {
				t.Errorf("h%d files changed:\n%s\nwant:\n%s", i+2, after, before[i+1])
			}
			if info := d.MustExec(t, "docker", "info", "--format", "{{json .SecurityOptions}}"); strings.Contains(info, "userns") {
				t.Errorf("h%d remapped: %s", i+2, info)
			}
			noHelperLeft(t, d)
		}

		bad.MustExec(t, "chmod", "0755", "/srv/private")
		res = dockerWith(t, config, append(enable, "--format", "json", "agent")...)
		t.Logf("second rollout:\n%s%s", res.stderr, res.stdout)
		if res.code != 0 {
			t.Errorf("converging rollout: exit %d", res.code)
		}
		wantResults(t, decodeRows(t, res.stdout), "already enabled", "enabled", "enabled")

		res = dockerWith(t, config, append(enable, "agent")...)
		if res.code != 0 || strings.Count(res.stdout, "already enabled") != 3 {
			t.Errorf("third rollout: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		st := dockerWith(t, config, "userns", "status", "--context", "h1", "--context", "h2", "--context", "h3", "--format", "json")
		if st.code != 0 {
			t.Errorf("fleet status: exit %d %s", st.code, st.stderr)
		}
		wantResults(t, decodeRows(t, st.stdout), "remapping on", "remapping on", "remapping on")
		for _, d := range hosts {
			noHelperLeft(t, d)
		}
	})
}

func decodeRows(t *testing.T, out string) []fleetRow {
	t.Helper()
	rows, err := harness.JSONLines[fleetRow](out)
	if err != nil {
		t.Fatalf("fleet JSON: %v\n%s", err, out)
	}
	return rows
}

func wantResults(t *testing.T, rows []fleetRow, want ...string) {
	t.Helper()
	wantHostResults(t, rows, "h", want...)
}

// wantHostResults checks the results of hosts named prefix1, prefix2, ...
func wantHostResults(t *testing.T, rows []fleetRow, prefix string, want ...string) {
	t.Helper()
	if len(rows) != len(want) {
		t.Fatalf("got %d hosts, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		if rows[i].Host != fmt.Sprintf("%s%d", prefix, i+1) || rows[i].Result != w {
			t.Errorf("host %d: %+v, want %s%d %s", i, rows[i], prefix, i+1, w)
		}
	}
}

// TestFleetOfOldestAndNewest: one client reaches a fleet that mixes the
// oldest Docker of the matrix (20.10, API 1.41) and the newest (29: its
// 29.0 to 29.2 refuse clients below API 1.44): the plugin's client
// negotiates each host's version (moby/moby/client New: negotiation is
// on unless a version is fixed), so status, doctor and a dry-run enable
// answer for both hosts in one run.
func TestFleetOfOldestAndNewest(t *testing.T) {
	vs := harness.Versions()
	oldest, newest := vs[0], vs[len(vs)-1]
	config := t.TempDir()
	if err := os.Symlink(filepath.Join(dockerConfigWithPlugin(t), "cli-plugins"), filepath.Join(config, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	for i, v := range []harness.Version{oldest, newest} {
		d := harness.StartHosts(t, v.Image, 1)[0]
		d.MustExec(t, "useradd", "-r", "-M", "agent")
		if err := harness.CreateContext(t.Context(), config, fmt.Sprintf("h%d", i+1), d); err != nil {
			t.Fatal(err)
		}
	}
	both := []string{"--context", "h1", "--context", "h2", "--format", "json"}
	st := dockerWith(t, config, append([]string{"userns", "status"}, both...)...)
	rows := decodeRows(t, st.stdout)
	wantResults(t, rows, "remapping off", "remapping off")
	for i, v := range []harness.Version{oldest, newest} {
		if i < len(rows) && !strings.Contains(rows[i].Message, "Docker "+v.Name) {
			t.Errorf("h%d: %q does not name Docker %s", i+1, rows[i].Message, v.Name)
		}
	}
	for _, cmd := range [][]string{{"userns", "doctor"}, {"userns", "enable", "--dry-run", "agent"}} {
		res := dockerWith(t, config, append(cmd, both...)...)
		t.Logf("%s:\n%s%s", strings.Join(cmd, " "), res.stdout, res.stderr)
		for _, r := range decodeRows(t, res.stdout) {
			if r.Failed || strings.Contains(r.Message, "API version") {
				t.Errorf("%s on %s: %s %s", strings.Join(cmd, " "), r.Host, r.Result, r.Message)
			}
		}
		if strings.Contains(res.stderr, "API version") || strings.Contains(res.stderr, "too old") {
			t.Errorf("%s: %s", strings.Join(cmd, " "), res.stderr)
		}
	}
}
