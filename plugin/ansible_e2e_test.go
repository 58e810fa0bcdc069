package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// ansibleHosts is how many hosts the Ansible test rolls out over: the
// example play's batches of two make a second batch of one.
const ansibleHosts = 3

// TestAnsibleRole: the role deploy/ansible/roles/docker_userns, run by the
// example play deploy/ansible/site.yml (serial 2, max_fail_percentage 50)
// with Debian's ansible-playbook, against three DinD hosts reached over ssh
// as root (harness.SSH: the hosts' own sshd, through docker exec, no TCP),
// on Docker 20.10 and the newest version of the matrix. --check reports the
// change and writes nothing; the rollout enables two hosts and fails the
// one whose daemon cannot start remapped with the plugin's reason, left
// running unremapped; fixed, a second run enables it and leaves the others
// changed=0 with the same dockerd, and --check then changes nothing;
// disabled, with the plugin as a .deb (--check first), gives every file
// back.
func TestAnsibleRole(t *testing.T) {
	// Never a skip: a machine without ansible-playbook fails here.
	playbook, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatalf("no ansible-playbook here (`make ansible` installs Debian's ansible-core): %v", err)
	}
	vs := harness.Versions()
	for _, v := range []harness.Version{vs[0], vs[len(vs)-1]} {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			ansibleRollout(t, newAnsiblePlay(t, playbook, v))
		})
	}
}

func ansibleRollout(t *testing.T, p ansiblePlay) {
	bad := p.hosts[1]
	breakHost(t, bad)
	before := p.snapshot(t)

	res := p.run(t, "--check")
	if res.code != 0 {
		t.Fatalf("--check: exit %d (output above)", res.code)
	}
	p.wantRecap(t, res, "--check", func(name string, r recap) bool { return r.changed > 0 && r.failed == 0 })
	p.wantTask(t, res, "--check", "docker userns enable", "changed", "changed", "changed")
	if after := p.snapshot(t); !after.same(before) {
		t.Errorf("--check changed the hosts:\n%s\nwant:\n%s", after, before)
	}

	res = p.run(t)
	if res.code == 0 {
		t.Errorf("a rollout with a failed host exits 0")
	}
	if n := strings.Count(res.out, "PLAY [Remap container root"); n != 2 {
		t.Errorf("the play ran in %d batches, want 2 (serial: 2 over 3 hosts)", n)
	}
	p.wantRecap(t, res, "enable", func(name string, r recap) bool {
		if name == "a2" {
			return r.failed == 1
		}
		return r.failed == 0 && r.changed > 0
	})
	reason := regexp.MustCompile(`(?m)^fatal: \[a2\]: FAILED! => .*"msg": "(enable: [^"]*)"`).FindStringSubmatch(res.out)
	if reason == nil || !strings.Contains(reason[1], "daemon cannot start") || !strings.Contains(reason[1], "restored") {
		t.Errorf("a2 does not fail with the plugin's reason (daemon cannot start, restored): output above")
	}
	if after := p.snapshot(t); after.files[1] != before.files[1] {
		t.Errorf("a2's files after its revert:\n%s\nwant:\n%s", after.files[1], before.files[1])
	}
	for i, d := range p.hosts {
		p.wantRemapped(t, i, i != 1)
		if i == 1 {
			continue
		}
		agent := d.MustExec(t, "id", "-u", "agent")
		if !strings.Contains(res.out, fmt.Sprintf("ok: [a%d] => {\n    \"msg\": \"container root is host uid %s ", i+1, agent)) {
			t.Errorf("a%d: the play does not print container root %s from docker_userns_result", i+1, agent)
		}
	}

	// Fixed, the same play enables a2 and leaves the others as they are.
	bad.MustExec(t, "chmod", "0755", "/srv/private")
	pids := p.pids(t)
	res = p.run(t)
	if res.code != 0 {
		t.Fatalf("second run: exit %d (output above)", res.code)
	}
	p.wantRecap(t, res, "second run", func(name string, r recap) bool { return r.failed == 0 && (r.changed == 0) == (name != "a2") })
	p.wantTask(t, res, "second run", "docker userns enable", "ok", "changed", "ok")
	again := p.pids(t)
	for i := range p.hosts {
		if i != 1 && again[i] != pids[i] {
			t.Errorf("a%d: dockerd %d after a run with changed=0, was %d", i+1, again[i], pids[i])
		}
		p.wantRemapped(t, i, true)
	}

	// --check where nothing would change: changed=0, the dry run says so.
	res = p.run(t, "--check")
	if res.code != 0 {
		t.Fatalf("--check once enabled: exit %d (output above)", res.code)
	}
	p.wantRecap(t, res, "--check once enabled", func(name string, r recap) bool { return r.failed == 0 && r.changed == 0 })
	p.wantTask(t, res, "--check once enabled", "docker userns enable", "ok", "ok", "ok")
	if now := p.pids(t); !slices.Equal(now, again) {
		t.Errorf("dockerd pids %v after --check, were %v", now, again)
	}

	// Disabled, with the plugin as a .deb: --check says dpkg would install
	// it and the disable would change each host (the dry run of the plugin
	// unpacked from the package), and writes nothing.
	deb := buildDeb(t, p.plugin)
	disabled := []string{"-e", "docker_userns_state=disabled", "-e", "docker_userns_remove_ranges=true", "-e", "docker_userns_package=" + deb}
	enabled := p.snapshot(t)
	res = p.run(t, append([]string{"--check"}, disabled...)...)
	if res.code != 0 {
		t.Fatalf("--check of disabled: exit %d (output above)", res.code)
	}
	p.wantTask(t, res, "--check of disabled", "Package", "changed", "changed", "changed")
	p.wantTask(t, res, "--check of disabled", "docker userns disable", "changed", "changed", "changed")
	if after := p.snapshot(t); !after.same(enabled) {
		t.Errorf("--check of disabled changed the hosts:\n%s\nwant:\n%s", after, enabled)
	}
	for i, d := range p.hosts {
		if got := d.MustExec(t, "sh", "-c", "dpkg-query --show docker-userns 2>&1; true"); !strings.Contains(got, "no packages found") {
			t.Errorf("a%d: --check installed the package: %s", i+1, got)
		}
	}

	// dpkg installs it over the copied binary (a file of no package).
	res = p.run(t, disabled...)
	if res.code != 0 {
		t.Fatalf("disabled: exit %d (output above)", res.code)
	}
	p.wantRecap(t, res, "disabled", func(name string, r recap) bool { return r.failed == 0 && r.changed > 0 })
	p.wantTask(t, res, "disabled", "docker userns disable", "changed", "changed", "changed")
	p.wantTask(t, res, "disabled", "Package", "changed", "changed", "changed")
	after := p.snapshot(t)
	for i, d := range p.hosts {
		if got := d.MustExec(t, "dpkg-query", "--show", "--showformat=${Version} ${db:Status-Status}", "docker-userns"); got != debVersion+" installed" {
			t.Errorf("a%d: docker-userns package %q, want %s installed", i+1, got, debVersion)
		}
		p.wantRemapped(t, i, false)
		if after.files[i] != before.files[i] {
			t.Errorf("a%d files after disabled:\n%s\nwant:\n%s", i+1, after.files[i], before.files[i])
		}
		noHelperLeft(t, d)
	}
}

// ansiblePlay is the example play with an inventory of DinD hosts a1..aN,
// each reached over ssh as root.
type ansiblePlay struct {
	playbook  string
	plugin    string // the plugin binary, on this machine
	inventory string
	env       []string
	hosts     []*harness.DinD
}

// newAnsiblePlay starts the hosts and writes the inventory: the remap
// user agent (--create-user: the play makes it), the plugin as built for
// the tests, and the harness's ssh (ansible_ssh_executable: the real ssh
// with the kit's config, whose ProxyCommand is docker exec; files go
// through ssh's own session, piped, since the harness gives the hosts an
// sshd without sftp-server and no scp). a2 passes
// --force: the plugin would otherwise refuse, before any write, a data
// root the remapped root cannot reach; forced, it tries and reverts.
func newAnsiblePlay(t *testing.T, playbook string, v harness.Version) ansiblePlay {
	t.Helper()
	hosts := harness.StartHosts(t, v.Image, ansibleHosts)
	// Ansible's modules run in the host's Python: an image without it
	// would fail every task with a message about the interpreter.
	if res, err := hosts[0].Exec(t.Context(), "test", "-x", "/usr/bin/python3"); err != nil || res.ExitCode != 0 {
		t.Fatalf("%s has no /usr/bin/python3 (%v): add python3 to its line in harness/dind/images.conf and run `make dind-images`", v.Image, err)
	}
	kit, err := harness.NewSSH(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	var inv strings.Builder
	inv.WriteString("[docker_hosts]\n")
	for i, d := range hosts {
		name := fmt.Sprintf("a%d", i+1)
		if err := kit.AddHost(t.Context(), name, d); err != nil {
			t.Fatal(err)
		}
		inv.WriteString(name)
		if i == 1 {
			inv.WriteString(" docker_userns_force=true")
		}
		inv.WriteString("\n")
	}
	fmt.Fprintf(&inv, `[docker_hosts:vars]
ansible_user=root
ansible_python_interpreter=/usr/bin/python3
ansible_ssh_executable=%s
ansible_ssh_pipelining=true
ansible_ssh_transfer_method=piped
docker_userns_user=agent
docker_userns_create_user=true
docker_userns_package=%s
`, kit.Client(), plugin)
	dir := t.TempDir()
	inventory := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inventory, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	roles, err := filepath.Abs("../deploy/ansible/roles")
	if err != nil {
		t.Fatal(err)
	}
	// Each version's hosts are a1..a3: ssh masters of their own, and
	// Ansible's local files in the test's directory, not ~/.ansible.
	env := append(os.Environ(),
		"ANSIBLE_ROLES_PATH="+roles,
		"ANSIBLE_HOME="+filepath.Join(dir, "ansible"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+filepath.Join(dir, "cp"),
		"ANSIBLE_NOCOLOR=1",
		// A loaded machine's docker exec and sshd may take more than the
		// 10 s Ansible waits for a connection by default.
		"ANSIBLE_TIMEOUT=60",
	)
	return ansiblePlay{playbook: playbook, plugin: plugin, inventory: inventory, env: env, hosts: hosts}
}

// debVersion is the version of the package buildDeb makes.
const debVersion = "0.0.0~test1"

// buildDeb packs the plugin binary as a .deb, where Debian's docker CLI
// packages put their plugins, with dpkg-deb here.
func buildDeb(t *testing.T, binary string) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	content, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	control := "Package: docker-userns\nVersion: " + debVersion + "\nArchitecture: amd64\nMaintainer: docker-userns tests <tests@docker-userns.invalid>\nDescription: docker userns CLI plugin (test build)\n"
	for name, f := range map[string]struct {
		content []byte
		mode    os.FileMode
	}{
		"DEBIAN/control": {[]byte(control), 0o644},
		"usr/libexec/docker/cli-plugins/docker-userns": {content, 0o755},
	} {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.content, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, "docker-userns_"+debVersion+"_amd64.deb")
	if out, err := exec.CommandContext(t.Context(), "dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

type playResult struct {
	out  string
	code int
}

// run runs the example play with args, from deploy/ansible as an operator
// would.
func (p ansiblePlay) run(t *testing.T, args ...string) playResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), p.playbook, append([]string{"-i", p.inventory, "site.yml"}, args...)...)
	cmd.Dir = "../deploy/ansible"
	cmd.Env = p.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	res := playResult{out: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ansible-playbook %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("ansible-playbook %s: exit %d in %s\n%s", strings.Join(args, " "), res.code, time.Since(start).Round(time.Second), out)
	return res
}

// recap is one host's line of the PLAY RECAP.
type recap struct{ ok, changed, unreachable, failed int }

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// wantRecap checks every host's recap line with want.
func (p ansiblePlay) wantRecap(t *testing.T, res playResult, what string, want func(name string, r recap) bool) {
	t.Helper()
	got := map[string]recap{}
	for _, m := range recapLine.FindAllStringSubmatch(res.out, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		got[m[1]] = recap{ok: n(2), changed: n(3), unreachable: n(4), failed: n(5)}
	}
	for i := range p.hosts {
		name := fmt.Sprintf("a%d", i+1)
		r, ok := got[name]
		if !ok || r.unreachable != 0 || !want(name, r) {
			t.Errorf("%s: %s's recap %+v (found %v) is not what the test wants", what, name, r, ok)
		}
	}
}

// wantTask checks how the task named task ended on each host (ok,
// changed, fatal), across the play's batches.
func (p ansiblePlay) wantTask(t *testing.T, res playResult, what, task string, want ...string) {
	t.Helper()
	got := map[string]string{}
	line := regexp.MustCompile(`(?m)^(ok|changed|fatal|skipping): \[(\S+)\]`)
	for _, section := range strings.Split(res.out, "\nTASK [")[1:] {
		if !strings.HasPrefix(section, "docker_userns : "+task+"]") {
			continue
		}
		for _, m := range line.FindAllStringSubmatch(section, -1) {
			got[m[2]] = m[1]
		}
	}
	for i, w := range want {
		if name := fmt.Sprintf("a%d", i+1); got[name] != w {
			t.Errorf("%s: task %q on %s: %q, want %q", what, task, name, got[name], w)
		}
	}
}

// wantRemapped checks host i's daemon by its own answer.
func (p ansiblePlay) wantRemapped(t *testing.T, i int, want bool) {
	t.Helper()
	info := p.hosts[i].MustExec(t, "docker", "info", "--format", "{{json .SecurityOptions}}")
	if got := strings.Contains(info, "name=userns"); got != want {
		t.Errorf("a%d remapped %v, want %v: %s", i+1, got, want, info)
	}
}

func (p ansiblePlay) pids(t *testing.T) []int {
	t.Helper()
	pids := make([]int, len(p.hosts))
	for i, d := range p.hosts {
		pid, err := d.DaemonPID(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = pid
	}
	return pids
}

// hostsState is what a run that writes nothing leaves as it was: each
// host's remapping files (sha256sum), its accounts, what its plugin
// directory and /tmp hold, and its dockerd's pid.
type hostsState struct {
	files, rest []string
	pids        []int
}

func (p ansiblePlay) snapshot(t *testing.T) hostsState {
	t.Helper()
	s := hostsState{pids: p.pids(t)}
	for _, d := range p.hosts {
		s.files = append(s.files, d.MustExec(t, "sh", "-c", "sha256sum /etc/subuid /etc/subgid /etc/docker/daemon.json 2>&1; true"))
		s.rest = append(s.rest, d.MustExec(t, "sh", "-c", "sha256sum /etc/passwd /etc/group; ls -A /usr/libexec/docker/cli-plugins /tmp 2>&1; true"))
	}
	return s
}

func (s hostsState) same(o hostsState) bool { return s.String() == o.String() }

func (s hostsState) String() string {
	var b strings.Builder
	for i := range s.files {
		fmt.Fprintf(&b, "a%d dockerd %d\n%s\n%s\n", i+1, s.pids[i], s.files[i], s.rest[i])
	}
	return b.String()
}
