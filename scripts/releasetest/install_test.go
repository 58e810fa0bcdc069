package releasetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// regularUser is the uid and gid install.sh runs as: nobody's.
const regularUser = "65534"

// asRegularUser is the command args run as a regular user, with HOME at
// home and nothing else of this environment but PATH (no DOCKER_CONFIG).
func asRegularUser(home string, args ...string) *exec.Cmd {
	return exec.Command("setpriv", append([]string{"--reuid=" + regularUser, "--regid=" + regularUser, "--clear-groups",
		"env", "-i", "HOME=" + home, "PATH=" + os.Getenv("PATH")}, args...)...)
}

// runInstall runs the release's install.sh as a regular user whose home
// is home and returns its output.
func runInstall(t *testing.T, script, home string, args ...string) (string, error) {
	t.Helper()
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	out, err := asRegularUser(home, append([]string{"sh", script}, args...)...).CombinedOutput()
	return string(out), err
}

// homeDir is an empty home folder a regular user can write.
func homeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInstallScriptInstallsForARegularUser: install.sh --from DIR puts this
// machine's binary into ~/.docker/cli-plugins, where the docker CLI finds
// it; --helpers adds the other architecture's beside it, which the CLI
// leaves alone.
func TestInstallScriptInstallsForARegularUser(t *testing.T) {
	dir, version := dist(t)
	home := homeDir(t)
	out, err := runInstall(t, filepath.Join(dir, "install.sh"), home, "--from", dir, "--helpers")
	if err != nil {
		t.Fatalf("install.sh --from %s: %v\n%s", dir, err, out)
	}
	plugins := filepath.Join(home, ".docker", "cli-plugins")
	installed := filepath.Join(plugins, "docker-userns")
	if !sameContent(t, installed, filepath.Join(dir, "docker-userns-linux-"+runtime.GOARCH)) {
		t.Errorf("%s is not docker-userns-linux-%s", installed, runtime.GOARCH)
	}
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	if !sameContent(t, filepath.Join(plugins, "docker-userns-helpers", "docker-userns-linux-"+other), filepath.Join(dir, "docker-userns-linux-"+other)) {
		t.Errorf("--helpers did not install docker-userns-linux-%s", other)
	}
	st, err := os.Stat(installed)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("installed plugin: %v %v", st, err)
	}
	entries, _ := os.ReadDir(plugins)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("install.sh left %s behind", e.Name())
		}
	}

	// The docker CLI, as that user, runs it as a plugin and warns of nothing.
	if out, err := asRegularUser(home, "docker", "userns", "version").CombinedOutput(); err != nil || string(out) != "docker-userns version "+version+"\n" {
		t.Errorf("docker userns version as a regular user: %q, %v", out, err)
	}
	out2, err := asRegularUser(home, "docker", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out2), "userns*") || strings.Contains(string(out2), "WARNING") {
		t.Errorf("docker --help with the plugin and its helpers installed: %v\n%s", err, out2)
	}
}

// TestInstallScriptRefusesATamperedBinary: one byte changed, install.sh
// names the file, installs nothing, and exits non-zero.
func TestInstallScriptRefusesATamperedBinary(t *testing.T) {
	dir, _ := dist(t)
	mirror := homeDir(t)
	if err := os.Chmod(mirror, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"checksums.txt", "install.sh", "docker-userns-linux-amd64", "docker-userns-linux-arm64"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "docker-userns-linux-"+runtime.GOARCH {
			data[len(data)/2] ^= 0xff
		}
		if err := os.WriteFile(filepath.Join(mirror, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	home := homeDir(t)
	out, err := runInstall(t, filepath.Join(mirror, "install.sh"), home, "--from", mirror)
	if err == nil {
		t.Fatalf("install.sh installed a tampered binary:\n%s", out)
	}
	want := "install.sh: docker-userns-linux-" + runtime.GOARCH + ": sha256 "
	if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 || !strings.Contains(out, "nothing installed") {
		t.Errorf("refusal %q: want one line starting %q", out, want)
	}
	if _, err := os.Stat(filepath.Join(home, ".docker")); !os.IsNotExist(err) {
		t.Errorf("install.sh wrote into the home folder after refusing (%v)", err)
	}
}

func TestInstallScriptHelp(t *testing.T) {
	dir, _ := dist(t)
	out, err := exec.Command("sh", filepath.Join(dir, "install.sh"), "--help").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "Usage: install.sh") {
		t.Errorf("install.sh --help: %v\n%s", err, out)
	}
	out, err = exec.Command("sh", filepath.Join(dir, "install.sh"), "--bogus").CombinedOutput()
	if err == nil || string(out) != "install.sh: unknown argument --bogus (see --help)\n" {
		t.Errorf("install.sh --bogus: %v %q", err, out)
	}
}
