package main_test

// Completion as a shell asks for it, through the real docker CLI and the
// built binary, with no daemon behind DOCKER_HOST (moved here from
// plugin/commands, whose tests need no Docker and no build).

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completionConfig is a docker config directory of its own (contexts made
// here stay here) that finds the built plugin through cliPluginsExtraDirs.
func completionConfig(t *testing.T) string {
	t.Helper()
	shared := dockerConfigWithPlugin(t)
	dir := t.TempDir()
	cfg := `{"cliPluginsExtraDirs": ["` + filepath.Join(shared, "cli-plugins") + `"]}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// complete runs `docker __complete userns WORDS...` through the real docker
// CLI, as a shell's completion script does, with no daemon behind
// DOCKER_HOST unless host says otherwise; it returns the words offered and
// cobra's directive line (":4" no file completion, ":0" the shell's files).
func complete(t *testing.T, config, host string, words ...string) ([]string, string) {
	t.Helper()
	if host == "" {
		host = "unix:///nonexistent.sock"
	}
	cmd := command(t, "docker", append([]string{"__complete", "userns"}, words...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config, "DOCKER_HOST="+host, "DOCKER_CONTEXT=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker __complete userns %q: %v", words, err)
	}
	var offered []string
	directive := ""
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		word, _, _ := strings.Cut(line, "\t") // a description follows a tab
		offered = append(offered, word)
	}
	return offered, directive
}

// TestCompletionThroughDockerCLI: what `docker userns <TAB>` offers, asked
// of the real docker CLI, which forwards to the plugin.
func TestCompletionThroughDockerCLI(t *testing.T) {
	config := completionConfig(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/bash\nagent:x:999:995::/home/agent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n"
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := command(t, "docker", "--config", config, "context", "create", "ci-1", "--docker", "host=unix:///nonexistent-ci-1.sock").CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name      string
		host      string
		words     []string
		want      []string
		directive string
	}{
		{"enable's user: default and the users of --root's passwd but root", "", []string{"enable", "--root", root, ""}, []string{"default", "agent", "alice"}, ":4"},
		{"enable takes one user", "", []string{"enable", "--root", root, "agent", ""}, nil, ":4"},
		{"enable's user on a daemon elsewhere: default only, no helper container", "tcp://127.0.0.1:1", []string{"enable", ""}, []string{"default"}, ":4"},
		{"enable's user in a fleet: default only", "", []string{"enable", "--context", "ci-1", ""}, []string{"default"}, ":4"},
		{"--layout", "", []string{"enable", "--layout", ""}, []string{"owner", "contiguous", "isolated"}, ":4"},
		{"--restart", "", []string{"disable", "--restart", ""}, []string{"auto", "systemd", "signal", "none"}, ":4"},
		{"--format", "", []string{"status", "--format", ""}, []string{"table", "json"}, ":4"},
		{"--via", "", []string{"doctor", "--via", ""}, []string{"auto", "local", "daemon"}, ":4"},
		{"--source", "", []string{"check-image", "--source", ""}, []string{"auto", "daemon", "registry", "file"}, ":4"},
		{"enable --size", "", []string{"enable", "--size", ""}, []string{"auto"}, ":4"},
		{"--context: the default context and the stored ones", "", []string{"status", "--context", ""}, []string{"ci-1", "default"}, ":4"},
		{"--context: those given are not offered again", "", []string{"enable", "--context", "ci-1", "--context", ""}, []string{"default"}, ":4"},
		{"check-image --user: users without default", "", []string{"check-image", "--root", root, "--user", ""}, []string{"agent", "alice"}, ":4"},
		{"check-image with --source file: the shell's files", "", []string{"check-image", "--source", "file", ""}, nil, ":0"},
		{"check-image: a path is the shell's", "", []string{"check-image", "./"}, nil, ":0"},
		{"--root: the shell's files", "", []string{"status", "--root", ""}, nil, ":0"},
		{"--junit: the shell's files", "", []string{"test", "--junit", ""}, nil, ":0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, directive := complete(t, config, tc.host, tc.words...)
			if !slices.Equal(got, tc.want) || directive != tc.directive {
				t.Errorf("docker __complete userns %q:\n got %q %s\nwant %q %s", tc.words, got, directive, tc.want, tc.directive)
			}
		})
	}
	got, _ := complete(t, config, "", "check-image", "--platform", "")
	for _, want := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		if !slices.Contains(got, want) {
			t.Errorf("--platform offers %q, lacks %s", got, want)
		}
	}
}

// TestCompletionNeverLogsInOverSSH is issue 23 case 7: with an ssh://
// context current, a TAB (enable's user, check-image's image, --for-image)
// read the endpoint through the CLI's own client, an ssh login and a ping,
// and the standalone binary swept the daemon too. Completion reads
// the endpoint from the context store and runs no ssh at all: here an ssh
// on the PATH that records each call.
func TestCompletionNeverLogsInOverSSH(t *testing.T) {
	config := completionConfig(t)
	for _, args := range [][]string{
		{"context", "create", "far", "--docker", "host=ssh://deploy@far.invalid"},
		{"context", "use", "far"},
	} {
		if out, err := command(t, "docker", append([]string{"--config", config}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("docker %q: %v\n%s", args, err, out)
		}
	}
	sshDir := t.TempDir()
	calls := filepath.Join(sshDir, "calls")
	if err := os.WriteFile(filepath.Join(sshDir, "ssh"), []byte("#!/bin/sh\necho \"$*\" >>"+calls+"\nexit 255\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	env := []string{"DOCKER_CONFIG=" + config, "PATH=" + sshDir + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DOCKER_") && !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	for _, tc := range []struct {
		name string
		run  []string
		want []string
	}{
		{"enable's user, through the docker CLI", []string{"docker", "__complete", "userns", "enable", ""}, []string{"default"}},
		{"enable's user, standalone", []string{bin, "__complete", "enable", ""}, []string{"default"}},
		{"--for-image, through the docker CLI", []string{"docker", "__complete", "userns", "enable", "--for-image", ""}, nil},
		{"check-image's image, standalone", []string{bin, "__complete", "check-image", ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(calls)
			cmd := command(t, tc.run[0], tc.run[1:]...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%q: %v", tc.run, err)
			}
			var offered []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if !strings.HasPrefix(line, ":") {
					offered = append(offered, line)
				}
			}
			if !slices.Equal(offered, tc.want) {
				t.Errorf("offered %q, want %q", offered, tc.want)
			}
			if got, err := os.ReadFile(calls); err == nil {
				t.Errorf("a TAB ran ssh:\n%s", got)
			}
		})
	}
}
