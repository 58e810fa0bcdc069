package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/harness/fixtureimage"
)

// sshFleet is fleetHosts (users agent and alice, unix-socket contexts
// h1..hn) with each host also reachable over ssh as s1..sn: the context sN
// is ssh://deploy@sN, through the host's own sshd and docker CLI
// (harness.SSH).
type sshFleet struct {
	hosts  []*harness.DinD
	config string
	kit    *harness.SSH
}

func startSSHFleet(t *testing.T, v harness.Version, n int) sshFleet {
	t.Helper()
	hosts, config := fleetHosts(t, v, n)
	kit, err := harness.NewSSH(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := sshFleet{hosts: hosts, config: config, kit: kit}
	for i, d := range hosts {
		f.addHost(t, fmt.Sprintf("s%d", i+1), d)
	}
	return f
}

// addHost makes d reachable as the ssh host and context name.
func (f sshFleet) addHost(t *testing.T, name string, d *harness.DinD, opts ...harness.SSHHostOption) {
	t.Helper()
	if err := f.kit.AddHost(t.Context(), name, d, opts...); err != nil {
		t.Fatal(err)
	}
	if err := f.kit.CreateContext(t.Context(), f.config, name); err != nil {
		t.Fatal(err)
	}
}

// docker runs the real docker CLI with the fleet's config, its ssh first
// on the PATH.
func (f sshFleet) docker(t *testing.T, args ...string) cliResult {
	t.Helper()
	return dockerEnv(t, append(f.kit.Env(), "DOCKER_CONFIG="+f.config), args...)
}

// contexts is "--context s1 ... --context sN".
func (f sshFleet) contexts() []string {
	var args []string
	for i := range f.hosts {
		args = append(args, "--context", fmt.Sprintf("s%d", i+1))
	}
	return args
}

// The ssh tests run with the default confirm window (60 s): the plugin
// shares one ssh connection per host (sshreach.ClientOpts), so the
// verification over ssh takes about what it takes over a unix socket.

// sshRolloutVersion is the Docker version whose ssh test rolls out over
// three hosts; the others get one host each (five DinD starts, not nine).
// What depends on the Docker version over ssh is the far end: the host's
// own `docker system dial-stdio` and the API, helper container and host
// agent through it, which one host per version runs end to end (enable,
// status, doctor, test, check-image, disable, the ssh errors). A rollout's
// order, stop and skip is the plugin's own code whatever the transport,
// run on three hosts of every version by TestFleetRollout over unix
// sockets; ssh adds sessions to several hosts at once and a revert seen
// through ssh, which one version shows: the newest, as operators install.
func sshRolloutVersion() harness.Version {
	vs := harness.Versions()
	return vs[len(vs)-1]
}

// TestSSHContexts: everything over ssh contexts (ssh://deploy@sN), on every
// Docker version. The ssh errors first: a host whose ssh asks for a
// password, and one without a docker CLI for `docker system dial-stdio`,
// each named in one line. Then, on sshRolloutVersion, the three-host
// rollout (the second host cannot start remapped and reverts by itself,
// the third is skipped; fixed, the same command converges), elsewhere one
// host enabled through the current context; status and doctor read every
// host; `test` and check-image run over ssh; disable gives the files back.
func TestSSHContexts(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		n := 1
		if v.Name == sshRolloutVersion().Name {
			n = 3
		}
		f := startSSHFleet(t, v, n)
		s1 := f.hosts[0]
		if n == 3 {
			breakHost(t, f.hosts[1])
		}
		before := make([]string, n)
		for i, d := range f.hosts {
			before[i] = d.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true")
		}

		// A host whose sshd takes passwords only (the same container,
		// another server config): the docker CLI's ssh cannot answer.
		f.addHost(t, "pw1", s1, harness.SSHPasswordOnly())
		res := f.docker(t, "--context", "pw1", "userns", "status")
		wantOneLineError(t, "password", res, "context pw1: ssh deploy@pw1 asks for a password", "Permission denied (publickey,password)")

		// No docker CLI on the host: nothing runs dial-stdio there. A
		// rollout refuses before it touches any host.
		s1.MustExec(t, "mv", "/usr/bin/docker", "/usr/bin/docker.away")
		res = f.docker(t, append(append([]string{"userns", "enable"}, f.contexts()...), "agent")...)
		s1.MustExec(t, "mv", "/usr/bin/docker.away", "/usr/bin/docker")
		wantOneLineError(t, "no docker CLI", res, "context s1: ssh deploy@s1: no docker CLI there", "docker system dial-stdio")
		for i, d := range f.hosts {
			if after := d.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true"); after != before[i] {
				t.Errorf("s%d files changed by a refused rollout:\n%s\nwant:\n%s", i+1, after, before[i])
			}
		}

		if n == 3 {
			sshRollout(t, f, before[1])
		} else {
			res = f.docker(t, "--context", "s1", "userns", "enable", "agent")
			t.Logf("enable over ssh:\n%s%s", res.stderr, res.stdout)
			if res.code != 0 || !strings.Contains(res.stdout, "Remapping enabled") {
				t.Fatalf("enable over ssh: exit %d\n%s%s\nsshd log:\n%s", res.code, res.stdout, res.stderr, s1.SSHDLog(t.Context()))
			}
		}
		if log := s1.SSHDLog(t.Context()); !strings.Contains(log, "Accepted publickey for deploy") {
			t.Errorf("s1's sshd logged no key login:\n%s", log)
		}

		st := f.docker(t, append([]string{"userns", "status", "--format", "json"}, f.contexts()...)...)
		if st.code != 0 {
			t.Errorf("status over ssh: exit %d %s", st.code, st.stderr)
		}
		rows := decodeRows(t, st.stdout)
		wantHostResults(t, rows, "s", repeat("remapping on", n)...)
		sshStatusWithSilentHost(t, f)
		doc := f.docker(t, append([]string{"userns", "doctor", "--format", "json"}, f.contexts()...)...)
		if doc.code != 0 {
			t.Errorf("doctor over ssh: exit %d\n%s%s", doc.code, doc.stdout, doc.stderr)
		}
		for i, r := range decodeRows(t, doc.stdout) {
			if r.Host != fmt.Sprintf("s%d", i+1) || r.Failed || (r.Result != "PASS" && r.Result != "WARN") {
				t.Errorf("doctor over ssh, host %d: %+v", i+1, r)
			}
		}

		sshTestAndCheckImage(t, f)

		res = f.docker(t, append([]string{"userns", "disable", "--remove-ranges", "--parallel", "3", "--format", "json"}, f.contexts()...)...)
		if res.code != 0 {
			t.Fatalf("disable over ssh: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		for i, d := range f.hosts {
			if after := d.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true"); after != before[i] {
				t.Errorf("s%d files after disable:\n%s\nwant:\n%s", i+1, after, before[i])
			}
			noHelperLeft(t, d)
		}
	})
}

// sshStatusWithSilentHost: a fleet's status with one more host that does
// not answer (AddSilentHost) reads the others and gives that host a row of
// its own naming why; the run exits 1.
func sshStatusWithSilentHost(t *testing.T, f sshFleet) {
	t.Helper()
	if err := f.kit.AddSilentHost("gone"); err != nil {
		t.Fatal(err)
	}
	if err := f.kit.CreateContext(t.Context(), f.config, "gone"); err != nil {
		t.Fatal(err)
	}
	res := f.docker(t, append([]string{"userns", "status", "--format", "json", "--context", "gone"}, f.contexts()...)...)
	t.Logf("status with a host that does not answer:\n%s%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Errorf("status with a host that does not answer: exit %d, want 1", res.code)
	}
	rows := decodeRows(t, res.stdout)
	if len(rows) == 0 || rows[0].Host != "gone" || !rows[0].Failed || !strings.Contains(rows[0].Message, "ssh deploy@gone: no answer") {
		t.Fatalf("status with a host that does not answer: want its own failed row first, got %+v", rows)
	}
	wantHostResults(t, rows[1:], "s", repeat("remapping on", len(f.hosts))...)
}

// breakHost makes d a host that cannot start remapped: its data root is
// in a 0700 directory (the remapped root cannot traverse it).
func breakHost(t *testing.T, d *harness.DinD) {
	t.Helper()
	d.MustExec(t, "install", "-d", "-m", "0700", "/srv/private")
	if err := d.WriteFile(t.Context(), "/etc/docker/daemon.json", []byte("{\"data-root\": \"/srv/private/docker\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.RestartDaemon(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// sshRollout is TestFleetRollout's story over ssh: s2 (breakHost, its
// files were badFiles) reverts by itself, s3 is skipped; after the fix
// the same command converges.
func sshRollout(t *testing.T, f sshFleet, badFiles string) {
	t.Helper()
	bad := f.hosts[1]
	enable := append([]string{"userns", "enable", "--force", "--parallel", "1", "--format", "json"}, f.contexts()...)

	res := f.docker(t, append(enable, "agent")...)
	t.Logf("first rollout over ssh:\n%s%s", res.stderr, res.stdout)
	if res.code == 0 {
		t.Errorf("a rollout with a reverted host exits 0")
	}
	rows := decodeRows(t, res.stdout)
	wantHostResults(t, rows, "s", "enabled", "reverted", "skipped")
	if !strings.Contains(rows[1].Message, "daemon cannot start") {
		t.Errorf("s2's message does not give the daemon's reason: %q", rows[1].Message)
	}
	if after := bad.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true"); after != badFiles {
		t.Errorf("s2 files after its revert:\n%s\nwant:\n%s", after, badFiles)
	}
	for i, d := range f.hosts[1:] {
		if info := d.MustExec(t, "docker", "info", "--format", "{{json .SecurityOptions}}"); strings.Contains(info, "userns") {
			t.Errorf("s%d remapped: %s", i+2, info)
		}
		noHelperLeft(t, d)
	}

	bad.MustExec(t, "chmod", "0755", "/srv/private")
	res = f.docker(t, append(enable, "agent")...)
	t.Logf("second rollout over ssh:\n%s%s", res.stderr, res.stdout)
	if res.code != 0 {
		t.Errorf("converging rollout over ssh: exit %d", res.code)
	}
	wantHostResults(t, decodeRows(t, res.stdout), "s", "already enabled", "enabled", "enabled")
}

// sshTestAndCheckImage: `docker userns test --junit` as a CI job runs it
// (through s1's ssh context), the same on every host at once, and
// check-image reading images through each host's daemon over ssh, judged
// against the mapping learned there (agent's 65536 ids: uid 65535 fits).
func sshTestAndCheckImage(t *testing.T, f sshFleet) {
	t.Helper()
	n := len(f.hosts)
	junit := filepath.Join(t.TempDir(), "report.xml")
	res := f.docker(t, "--context", "s1", "userns", "test", "--junit", junit)
	t.Logf("test over ssh:\n%s%s", res.stdout, res.stderr)
	if res.code != 0 || strings.Count(res.stdout, "PASS  ") != 5 {
		t.Errorf("test over ssh: exit %d, want 0 and 5 PASS:\n%s%s", res.code, res.stdout, res.stderr)
	}
	if j := readJUnit(t, junit); len(j.Suites) != 1 || j.Suites[0].Tests != 5 || j.Suites[0].Failures != 0 || j.Suites[0].Skipped != 0 {
		t.Errorf("junit %+v, want one suite of 5 tests, none failed or skipped", j)
	}
	if n > 1 {
		res = f.docker(t, append([]string{"userns", "test", "--junit", junit, "--format", "json"}, f.contexts()...)...)
		if res.code != 0 {
			t.Errorf("test on every host over ssh: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		wantHostResults(t, decodeRows(t, res.stdout), "s", repeat("PASS", n)...)
		if j := readJUnit(t, junit); len(j.Suites) != n {
			t.Errorf("junit %+v, want a suite per host", j)
		}
	}
	for _, d := range f.hosts {
		noHelperLeft(t, d)
	}

	img, err := fixtureimage.Image(fixtureimage.File{Path: "/data/edge", UID: 65535, GID: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.hosts {
		if err := d.LoadImage(t.Context(), "fixture/edge:1", img); err != nil {
			t.Fatal(err)
		}
	}
	res = f.docker(t, append([]string{"userns", "check-image", "--source", "daemon", "--format", "json"}, append(f.contexts(), "fixture/edge:1")...)...)
	t.Logf("check-image over ssh:\n%s%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Errorf("check-image over ssh: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	wantHostResults(t, decodeRows(t, res.stdout), "s", repeat("fits", n)...)
	for _, d := range f.hosts {
		d.MustExec(t, "docker", "image", "rm", "fixture/edge:1")
	}
}

// wantOneLineError checks a command that failed with one line of error
// holding every want.
func wantOneLineError(t *testing.T, what string, res cliResult, want ...string) {
	t.Helper()
	msg := strings.TrimSpace(res.stderr)
	if res.code == 0 || strings.Contains(msg, "\n") {
		t.Errorf("%s: exit %d, want an error in one line; stderr:\n%s", what, res.code, res.stderr)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: the error lacks %q: %s", what, w, msg)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// BenchmarkFleetRolloutOverSSH: `enable agent` over three hosts reached
// over ssh contexts (s1..s3, harness.SSH) against the same three hosts over
// unix-socket contexts (h1..h3), in the same iteration, same flags. The kit's ssh goes first on the
// benchmark's PATH, which wallTime passes on.
func BenchmarkFleetRolloutOverSSH(b *testing.B) {
	hosts, config := benchFleet(b, 3)
	kit, err := harness.NewSSH(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for i, d := range hosts {
		name := fmt.Sprintf("s%d", i+1)
		if err := kit.AddHost(b.Context(), name, d); err != nil {
			b.Fatal(err)
		}
		if err := kit.CreateContext(b.Context(), config, name); err != nil {
			b.Fatal(err)
		}
	}
	b.Setenv("PATH", filepath.Dir(kit.Client())+string(os.PathListSeparator)+os.Getenv("PATH"))
	rollout := func(prefix, action string, more ...string) time.Duration {
		args := []string{"userns", action}
		for i := range hosts {
			args = append(args, "--context", fmt.Sprintf("%s%d", prefix, i+1))
		}
		return wallTime(b, config, append(args, more...)...)
	}
	ssh := &figure{name: "fleet-3-ssh"}
	for b.Loop() {
		overSSH := rollout("s", "enable", "--parallel", "2", "agent")
		rollout("s", "disable", "--parallel", "3")
		overUnix := rollout("h", "enable", "--parallel", "2", "agent")
		rollout("h", "disable", "--parallel", "3")
		ssh.add(overSSH, overUnix)
	}
	ssh.report(b)
}

// TestSSHLoginsOfAStatus counts the ssh logins of one `docker --context s1
// userns status` on a host no ssh master serves yet. It was 3: the CLI's
// own client pinged on the first DockerEndpoint() (a login, up to 2 s on
// the command's path), and the sweep beside the command and the command's
// first call both started before the master's socket existed. Now every
// call goes through one master. A wrapper first on the PATH traces the
// ssh calls, for the failure message.
func TestSSHLoginsOfAStatus(t *testing.T) {
	f := startSSHFleet(t, newest(t), 1)
	logins := func() int { return strings.Count(f.hosts[0].SSHDLog(t.Context()), "Accepted publickey for deploy") }
	before := logins()
	trace := filepath.Join(t.TempDir(), "trace")
	wrap := t.TempDir()
	script := "#!/bin/sh\necho \"$(date +%T.%N) $*\" >>" + trace + "\nexec " + f.kit.Client() + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrap, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(f.kit.Env(), "DOCKER_CONFIG="+f.config, "PATH="+wrap+string(os.PathListSeparator)+os.Getenv("PATH"))
	res := dockerEnv(t, env, "--context", "s1", "userns", "status")
	if res.code != 0 {
		t.Fatalf("status over ssh: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := logins() - before; got != 1 {
		calls, _ := os.ReadFile(trace)
		t.Errorf("status over ssh logged in %d times, want 1 (one shared connection); its ssh calls:\n%s", got, calls)
	}
}
