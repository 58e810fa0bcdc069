package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/internal/pluginbuild"
)

// commandTimeout bounds one command a test runs here (the docker CLI, the
// plugin, a build).
const commandTimeout = 10 * time.Minute

// command is exec.Command bounded by commandTimeout: past it the command
// and what it started (the docker CLI's plugin, in its process group) are
// killed, and the test fails on its error instead of hanging the run.
func command(t testing.TB, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// plugin is the plugin built once for this test binary.
var plugin pluginbuild.Once

// dockerConfigWithPlugin builds the plugin once per test run and returns a
// docker config directory whose cli-plugins holds it, so the real docker
// CLI finds it the way it finds any installed plugin.
func dockerConfigWithPlugin(t *testing.T) string {
	t.Helper()
	dir, err := plugin.ConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	plugin.Remove()
	hookedPlugin.Remove()
	os.Exit(code)
}

func runDocker(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := command(t, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfigWithPlugin(t))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestMetadataMatchesFile keeps docker-cli-plugin-metadata.json and the
// binary's own answer from drifting apart.
func TestMetadataMatchesFile(t *testing.T) {
	bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	out, err := command(t, bin, "docker-cli-plugin-metadata").Output()
	if err != nil {
		t.Fatalf("docker-userns docker-cli-plugin-metadata: %v", err)
	}
	file, err := os.ReadFile("../docker-cli-plugin-metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	var fromBinary, fromFile map[string]any
	if err := json.Unmarshal(out, &fromBinary); err != nil {
		t.Fatalf("binary metadata is not JSON: %v\n%s", err, out)
	}
	if err := json.Unmarshal(file, &fromFile); err != nil {
		t.Fatalf("metadata file is not JSON: %v", err)
	}
	if !reflect.DeepEqual(fromBinary, fromFile) {
		t.Errorf("binary says %v, file says %v", fromBinary, fromFile)
	}
}

// TestMetadataCallInitialisesLittle: the docker CLI runs the metadata call
// before every start of the plugin (and for every plugin in docker info);
// it must be answered before docker/cli's command package and what it
// brings (grpc, OpenTelemetry) are initialised (metadatacall), and answered
// as the plugin framework answers it (the same call with "--" after it
// goes to the framework).
func TestMetadataCallInitialisesLittle(t *testing.T) {
	bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	cmd := exec.Command(bin, "docker-cli-plugin-metadata")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var trace strings.Builder
	cmd.Stderr = &trace
	early, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-userns docker-cli-plugin-metadata: %v\n%s", err, trace.String())
	}
	var heavy []string
	for line := range strings.Lines(trace.String()) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "init" {
			continue
		}
		// The costly ones (issue 28): reference's regular expressions,
		// grpc, OpenTelemetry's SDK, and docker/cli itself.
		if slices.Contains([]string{"github.com/distribution/reference", "google.golang.org/grpc", "go.opentelemetry.io/otel/sdk/resource", "github.com/docker/cli/cli/command"}, f[1]) {
			heavy = append(heavy, f[1])
		}
	}
	if len(heavy) > 0 {
		t.Errorf("the metadata call initialised packages it does not need: %s", strings.Join(heavy, ", "))
	}
	framework, err := exec.Command(bin, "docker-cli-plugin-metadata", "--").Output()
	if err != nil {
		t.Fatalf("docker-userns docker-cli-plugin-metadata --: %v", err)
	}
	if string(early) != string(framework) {
		t.Errorf("the early answer differs from the plugin framework's:\n%s\nframework:\n%s", early, framework)
	}
}

// TestDockerCLIListsPlugin runs the real docker CLI: it must list the
// plugin in its help and in `docker info` without a warning.
func TestDockerCLIListsPlugin(t *testing.T) {
	stdout, stderr, err := runDocker(t, "--help")
	if err != nil {
		t.Fatalf("docker --help: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "userns*") {
		t.Errorf("docker --help does not list userns*:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, "WARNING") || strings.Contains(stdout+stderr, "invalid") {
		t.Errorf("docker --help warns about the plugin:\n%s%s", stdout, stderr)
	}

	stdout, stderr, err = runDocker(t, "info", "--format", "{{json .ClientInfo.Plugins}}")
	if err != nil {
		t.Fatalf("docker info: %v\n%s", err, stderr)
	}
	var plugins []struct{ Name, Err, Version string }
	if err := json.Unmarshal([]byte(stdout), &plugins); err != nil {
		t.Fatalf("docker info plugins: %v\n%s", err, stdout)
	}
	found := false
	for _, p := range plugins {
		if p.Name == "userns" {
			found = true
			if p.Err != "" {
				t.Errorf("docker info reports a plugin error: %s", p.Err)
			}
		}
	}
	if !found {
		t.Errorf("docker info does not list userns: %s", stdout)
	}
}

func TestDockerUsernsHelp(t *testing.T) {
	stdout, stderr, err := runDocker(t, "userns", "--help")
	if err != nil {
		t.Fatalf("docker userns --help: %v\n%s", err, stderr)
	}
	for _, want := range []string{"Usage:  docker userns", "--root"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("docker userns --help lacks %q:\n%s", want, stdout)
		}
	}
}
