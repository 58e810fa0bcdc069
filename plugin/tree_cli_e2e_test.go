package main_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon/daemontest"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// A tree given by --root is not this machine: the real `docker userns`,
// run by the docker CLI with no daemon behind DOCKER_HOST (a socket path
// that does not exist), plans and writes from the tree's files alone,
// runs nothing of it, and reads nothing of it that could hang.

// treeFiles is a prepared image's root: alice (uid 1000) sits where a
// contiguous range for agent would put container uid 1.
var treeFiles = map[string]string{
	"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nagent:x:999:995::/home/agent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n",
	"etc/group":  "root:x:0:\nagent:x:995:\nalice:x:1000:\n",
	"etc/subuid": "",
	"etc/subgid": "",
}

// treeRun is one `docker userns ARGS` with no daemon reachable.
type treeRun struct {
	stdout, stderr string
	code           int
}

// runUserns runs `docker userns args...` through the real docker CLI with
// no daemon (DOCKER_HOST names a socket that does not exist in a temporary
// directory), bounded by a deadline: a command that hangs fails the test.
func runUserns(t *testing.T, args ...string) treeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"userns"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+completionConfig(t), "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "no-daemon.sock"), "DOCKER_CONTEXT=")
	// The plugin runs in a process group of its own: kill it too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("docker userns %s: still running after 60 s, killed\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errOut.String())
	}
	run := treeRun{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("docker userns %s: %v", strings.Join(args, " "), err)
	}
	return run
}

func (r treeRun) wantOK(t *testing.T, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
}

func readTree(t *testing.T, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// TestTreeWithoutDaemon: enable, status, doctor and disable on a prepared
// tree with no daemon, and the refusals there naming their culprit with no
// byte changed.
func TestTreeWithoutDaemon(t *testing.T) {
	root := hostfstest.Tree(t, treeFiles)

	before := hostfstest.Snapshot(t, root)
	refused := runUserns(t, "enable", "--root", root, "--restart", "none", "--layout", "contiguous", "agent")
	if refused.code == 0 || !strings.Contains(refused.stderr, "alice") || strings.Contains(refused.stderr, "daemon") {
		t.Errorf("contiguous over alice: want a refusal naming alice, not the daemon; exit %d: %s", refused.code, refused.stderr)
	}
	hostfstest.Unchanged(t, root, before)

	// What only a daemon can do is refused, naming the flag.
	for flag, args := range map[string][]string{
		"--keep-images and --keep-volumes": {"--keep-volumes"},
		"--size auto":                      {"--size", "auto"},
	} {
		run := runUserns(t, append([]string{"enable", "--root", root, "agent"}, args...)...)
		if run.code == 0 || !strings.Contains(run.stderr, flag+" with --root") {
			t.Errorf("%s under a tree: want a refusal naming it; exit %d: %s", flag, run.code, run.stderr)
		}
	}
	hostfstest.Unchanged(t, root, before)

	enable := runUserns(t, "enable", "--root", root, "--restart", "none", "agent")
	enable.wantOK(t, "enable")
	if got := readTree(t, root, "etc/subuid"); got != "agent:999:1\nagent:100000:65535\n" {
		t.Errorf("subuid after enable: %q", got)
	}
	if got := readTree(t, root, "etc/docker/daemon.json"); !strings.Contains(got, `"userns-remap": "agent"`) {
		t.Errorf("daemon.json after enable: %q", got)
	}
	for _, want := range []string{"Not checked: dockerd --validate", "Not checked: the daemon's images", "is a tree"} {
		if !strings.Contains(enable.stdout, want) {
			t.Errorf("enable says nothing of %q:\n%s", want, enable.stdout)
		}
	}
	if !strings.Contains(enable.stderr, "all read these ranges alike") {
		t.Errorf("enable does not say which Docker version it planned for:\n%s", enable.stderr)
	}

	status := runUserns(t, "status", "--root", root)
	status.wantOK(t, "status")
	for _, want := range []string{"not reached", `userns-remap "agent"`, "0 999 1, 1 100000 65535"} {
		if !strings.Contains(status.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, status.stdout)
		}
	}
	doctor := runUserns(t, "doctor", "--root", root, "--format", "{{.Check}} {{.Verdict}} {{.Detail}}")
	doctor.wantOK(t, "doctor")
	for _, want := range []string{"daemon WARN not reached", "managed by WARN not looked for", "ranges PASS"} {
		if !strings.Contains(doctor.stdout, want) {
			t.Errorf("doctor lacks %q:\n%s", want, doctor.stdout)
		}
	}

	disable := runUserns(t, "disable", "--root", root, "--restart", "none")
	disable.wantOK(t, "disable")
	if got := readTree(t, root, "etc/docker/daemon.json"); got != "" {
		t.Errorf("daemon.json after disable (enable created it): %q", got)
	}

	if err := os.WriteFile(filepath.Join(root, "etc/docker/daemon.json"), []byte("{\"debug\": true,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before = hostfstest.Snapshot(t, root)
	bad := runUserns(t, "enable", "--root", root, "--restart", "none", "agent")
	if bad.code == 0 || !strings.Contains(bad.stderr, "/etc/docker/daemon.json") {
		t.Errorf("a broken daemon.json: want a refusal naming it; exit %d: %s", bad.code, bad.stderr)
	}
	hostfstest.Unchanged(t, root, before)
}

// TestTreeVersionFromItsFiles: the Docker version that decides how the
// ranges are read comes from the tree's package database; a tree of
// unknown version whose existing lines versions read differently is
// refused, and --docker-version then decides.
func TestTreeVersionFromItsFiles(t *testing.T) {
	files := map[string]string{
		"var/lib/dpkg/status": "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\nPackage: docker.io\nStatus: install ok installed\nVersion: 20.10.24+dfsg1-1+deb12u1\n",
	}
	for k, v := range treeFiles {
		files[k] = v
	}
	root := hostfstest.Tree(t, files)
	run := runUserns(t, "enable", "--root", root, "--dry-run", "agent")
	run.wantOK(t, "enable --dry-run")
	if !strings.Contains(run.stderr, "planning for Docker 20.10.24+dfsg1, as /var/lib/dpkg/status (docker.io) says") {
		t.Errorf("enable does not plan for the tree's docker.io:\n%s", run.stderr)
	}

	// A line keyed by agent's name, then one by its uid: Docker 27 and
	// older take only the second, 28 and newer both: the plans differ.
	unknown := map[string]string{"etc/subuid": "agent:300000:65536\n999:400000:65536\n", "etc/subgid": "agent:300000:65536\n999:400000:65536\n"}
	for k, v := range treeFiles {
		if _, set := unknown[k]; !set {
			unknown[k] = v
		}
	}
	root = hostfstest.Tree(t, unknown)
	before := hostfstest.Snapshot(t, root)
	refused := runUserns(t, "enable", "--root", root, "--restart", "none", "agent")
	if refused.code == 0 || !strings.Contains(refused.stderr, "--docker-version") {
		t.Errorf("unknown version, plans that differ: want a refusal asking for --docker-version; exit %d: %s", refused.code, refused.stderr)
	}
	hostfstest.Unchanged(t, root, before)
	runUserns(t, "enable", "--root", root, "--restart", "none", "--docker-version", "28.5.2", "agent").wantOK(t, "enable --docker-version")

	// The tree's daemon.json asks for the containerd image store, which
	// Docker 29 refuses with remapping: known from the files alone.
	store := map[string]string{"etc/docker/daemon.json": `{"features": {"containerd-snapshotter": true}}` + "\n"}
	for k, v := range treeFiles {
		store[k] = v
	}
	root = hostfstest.Tree(t, store)
	before = hostfstest.Snapshot(t, root)
	refused = runUserns(t, "enable", "--root", root, "--restart", "none", "--docker-version", "29.1.0", "agent")
	if refused.code == 0 || !strings.Contains(refused.stderr, "containerd-snapshotter") {
		t.Errorf("the containerd image store on Docker 29: want a refusal naming it; exit %d: %s", refused.code, refused.stderr)
	}
	hostfstest.Unchanged(t, root, before)
}

// plantedDockerd is a static program put at the tree's /usr/bin/dockerd:
// run, it leaves a file in the tree's / saying it ran and as whom.
const plantedDockerd = `package main

import (
	"fmt"
	"os"
)

func main() {
	_ = os.WriteFile("/dockerd-ran", []byte(fmt.Sprintf("uid %d\n", os.Getuid())), 0o644)
	fmt.Println("planted dockerd refuses")
	os.Exit(1)
}
`

// TestTreeRunsNothingOfIt (red team case 1): enable under --root never
// runs the tree's dockerd (a planted one ran chrooted as this machine's
// root, every capability), dry run or not.
func TestTreeRunsNothingOfIt(t *testing.T) {
	root := hostfstest.Tree(t, treeFiles)
	if err := os.MkdirAll(filepath.Join(root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	daemontest.Build(t, filepath.Join(root, "usr/bin/dockerd"), plantedDockerd)
	for _, args := range [][]string{
		{"enable", "--root", root, "--dry-run", "agent"},
		{"enable", "--root", root, "--restart", "none", "agent"},
	} {
		run := runUserns(t, args...)
		if ran := readTree(t, root, "dockerd-ran"); ran != "" {
			t.Fatalf("%s ran the tree's dockerd (%s)", strings.Join(args, " "), strings.TrimSpace(ran))
		}
		run.wantOK(t, strings.Join(args, " "))
	}
}

// TestTreeRestartsNothing (red team case 3): a tree whose pidfile names a
// live "dockerd" of this machine (its /proc bind-mounted or linked, as
// when an image is prepared in a chroot) is neither signalled by enable's
// default --restart auto nor by an explicit --restart signal, which is
// refused with what to do instead.
func TestTreeRestartsNothing(t *testing.T) {
	dockerd := daemontest.StartLive(t)
	files := map[string]string{"var/run/docker.pid": dockerd.Pidfile()}
	for k, v := range treeFiles {
		files[k] = v
	}
	root := hostfstest.Tree(t, files)
	if err := os.Symlink("/proc", filepath.Join(root, "proc")); err != nil {
		t.Fatal(err)
	}
	before := hostfstest.Snapshot(t, root)
	signal := runUserns(t, "enable", "--root", root, "--restart", "signal", "agent")
	if signal.code == 0 || !strings.Contains(signal.stderr, "--restart none") {
		t.Errorf("--restart signal under a tree: want a refusal pointing at --restart none; exit %d: %s", signal.code, signal.stderr)
	}
	hostfstest.Unchanged(t, root, before)
	auto := runUserns(t, "enable", "--root", root, "agent")
	auto.wantOK(t, "enable (--restart auto)")
	if !strings.Contains(auto.stdout, "no restart: "+root+" is a tree") {
		t.Errorf("enable does not say the tree's daemon is not restarted:\n%s", auto.stdout)
	}
	if !dockerd.Alive() {
		t.Fatal("this machine's dockerd was signalled")
	}
}

// TestTreeFIFOs (red team case 4): a FIFO at the tree's pidfile does not
// hang doctor or status; one where a file is read is refused by name,
// with no byte changed.
func TestTreeFIFOs(t *testing.T) {
	root := hostfstest.Tree(t, treeFiles)
	if err := os.MkdirAll(filepath.Join(root, "var/run"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "var/run/docker.pid"), 0o644); err != nil {
		t.Fatal(err)
	}
	runUserns(t, "doctor", "--root", root).wantOK(t, "doctor")
	runUserns(t, "status", "--root", root).wantOK(t, "status")

	if err := os.Remove(filepath.Join(root, "etc/subuid")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/subuid"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := hostfstest.Snapshot(t, root)
	run := runUserns(t, "enable", "--root", root, "--restart", "none", "agent")
	if run.code == 0 || !strings.Contains(run.stderr, "/etc/subuid: not a regular file") {
		t.Errorf("a FIFO at /etc/subuid: want a refusal naming it; exit %d: %s", run.code, run.stderr)
	}
	hostfstest.Unchanged(t, root, before)
}
