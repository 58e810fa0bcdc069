package harness

import (
	"strings"
	"testing"
)

// TestExecAgentRunsAsDockerExecDoes: the same commands through the exec
// agent and through a docker exec of their own give the same exit code,
// stdout and stderr, as root and as a user (uid, groups, HOME, the
// environment), for a failing command, a killed one, a missing one and an
// unknown user; files written through the agent are new files owned by
// root with the mode asked for.
func TestExecAgentRunsAsDockerExecDoes(t *testing.T) {
	d := Start(t, Versions()[0].Image)
	ctx := t.Context()
	if _, err := d.ExecOK(ctx, "useradd", "-r", "-M", "-G", "docker", "agent"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user string
		cmd  []string
		// sameOutput is false where only the exit codes can match: the
		// runtime's words for a command it cannot start are its own.
		sameOutput bool
	}{
		{"", []string{"id"}, true},
		{"", []string{"sh", "-c", "env | sort"}, true},
		{"agent", []string{"id"}, true},
		{"agent", []string{"sh", "-c", "env | sort; pwd; umask"}, true},
		{"agent:docker", []string{"id"}, true},
		{"0:0", []string{"id"}, true},
		{"", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, true},
		{"", []string{"sh", "-c", "kill -9 $$"}, true},
		{"", []string{"no-such-command"}, false},
		{"", []string{"/etc/passwd"}, false},
		{"nosuchuser", []string{"id"}, false},
	}
	for _, c := range cases {
		name := c.user + " " + strings.Join(c.cmd, " ")
		viaAgent, err := d.execAgentRun(ctx, ExecResult{Cmd: c.cmd, User: c.user, ExitCode: -1})
		if err != nil {
			t.Fatalf("%s through the agent: %v", name, err)
		}
		direct, err := d.execDirect(ctx, ExecResult{Cmd: c.cmd, User: c.user, ExitCode: -1})
		if err != nil {
			t.Fatalf("%s with docker exec: %v", name, err)
		}
		if viaAgent.ExitCode != direct.ExitCode {
			t.Errorf("%s: exit %d through the agent, %d with docker exec (%q / %q)", name, viaAgent.ExitCode, direct.ExitCode, viaAgent.Stderr, direct.Stderr)
		}
		if c.sameOutput && (viaAgent.Stdout != direct.Stdout || viaAgent.Stderr != direct.Stderr) {
			t.Errorf("%s: output differs\nagent:  %q %q\ndocker: %q %q", name, viaAgent.Stdout, viaAgent.Stderr, direct.Stdout, direct.Stderr)
		}
	}

	if err := d.WriteFile(ctx, "/srv/new/dir/file", []byte("one\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := d.ExecOK(ctx, "stat", "-c", "%i", "/srv/new/dir/file")
	if err := d.WriteFile(ctx, "/srv/new/dir/file", []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := d.ExecOK(ctx, "stat", "-c", "%u:%g %a %i", "/srv/new/dir/file")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(got); len(f) != 3 || f[0] != "0:0" || f[1] != "600" || f[2] == strings.TrimSpace(before) {
		t.Errorf("written file: %q (inode before %s); want 0:0 600 and a new inode", got, before)
	}
	if b, err := d.ReadFile(ctx, "/srv/new/dir/file"); err != nil || string(b) != "two\n" {
		t.Errorf("ReadFile: %q, %v; want \"two\\n\"", b, err)
	}
	if _, err := d.ReadFile(ctx, "/srv/none"); err == nil {
		t.Error("ReadFile of a missing file: no error")
	}
}
