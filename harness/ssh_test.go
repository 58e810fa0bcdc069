package harness_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// TestSSHHostRunsTheHostsOwnDockerCLI: over an ssh context the far side is
// the host's sshd, logged in as deploy (group docker), and `docker system
// dial-stdio` of the host's own CLI. On the systemd flavour, whose /run is
// a tmpfs (sshd's privilege separation directory is made per connection);
// the ssh e2e tests (plugin/ssh_e2e_test.go) run the supervised images of
// every version.
func TestSSHHostRunsTheHostsOwnDockerCLI(t *testing.T) {
	imgs := harness.Images(harness.Systemd)
	if len(imgs) == 0 {
		t.Fatal("no systemd image in images.conf")
	}
	ctx := ctxFor(t)
	d := harness.Start(t, imgs[0].Ref)
	kit, err := harness.NewSSH(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := kit.AddHost(ctx, "h1", d); err != nil {
		t.Fatal(err)
	}
	ssh := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, kit.Client(), args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := ssh("h1", "id; command -v docker")
	if err != nil {
		t.Fatalf("ssh h1: %v: %s\nsshd log:\n%s", err, out, d.SSHDLog(ctx))
	}
	if !strings.HasPrefix(out, "uid=2000(deploy)") || !strings.Contains(out, "(docker)") || !strings.HasSuffix(out, "/usr/bin/docker") {
		t.Errorf("ssh h1 id: %q, want deploy (2000) in group docker, and the host's /usr/bin/docker", out)
	}
	if log := d.SSHDLog(ctx); !strings.Contains(log, "Accepted publickey for deploy") {
		t.Errorf("the host's sshd did not log the key login:\n%s", log)
	}

	config := t.TempDir()
	if err := kit.CreateContext(ctx, config, "h1"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "docker", "--config", config, "--context", "h1", "info", "--format", "{{.ID}}")
	cmd.Env = kit.Env()
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker --context h1 info: %v", err)
	}
	if want := d.MustExec(t, "docker", "info", "--format", "{{.ID}}"); strings.TrimSpace(string(got)) != want {
		t.Errorf("over ssh the daemon is %q, in the host %q", got, want)
	}
}
