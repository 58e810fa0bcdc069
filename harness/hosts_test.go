package harness_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/testcontainers/testcontainers-go"
)

// hostCLI runs the machine's docker CLI with configDir as its --config and
// returns its stdout; DOCKER_HOST and DOCKER_CONTEXT are dropped so that
// only --context picks the daemon.
func hostCLI(ctx context.Context, configDir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"--config", configDir}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_HOST=") && !strings.HasPrefix(kv, "DOCKER_CONTEXT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// terminateOnce terminates d unless the test already did, so that a test
// which checks what termination leaves behind still cleans up on failure.
func terminateOnce(t *testing.T, d *harness.DinD) func() error {
	var done atomic.Bool
	term := func() error {
		if done.Swap(true) {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return d.Terminate(ctx, testcontainers.StopTimeout(0))
	}
	t.Cleanup(func() {
		if err := term(); err != nil {
			t.Errorf("remove DinD container %s: %v", d.GetContainerID(), err)
		}
	})
	return term
}

func TestRunHostsAreReachableAsContexts(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		start := time.Now()
		// --debug shows WithDockerdFlags composing with the socket's -H flags.
		hosts, err := harness.RunHosts(ctx, v.Image, 3, harness.WithDockerdFlags("--debug"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("RunHosts of 3 on %s: %v", v.Name, time.Since(start).Round(time.Millisecond))
		if len(hosts) != 3 {
			t.Fatalf("RunHosts returned %d hosts, want 3", len(hosts))
		}
		terminate := make([]func() error, len(hosts))
		for i, d := range hosts {
			terminate[i] = terminateOnce(t, d)
		}

		cfg := t.TempDir()
		ids := map[string]string{}
		for i, d := range hosts {
			name := "h" + strconv.Itoa(i+1)
			sock := d.SocketPath()
			if st, err := os.Stat(sock); err != nil || st.Mode().Type() != fs.ModeSocket {
				t.Fatalf("%s: socket %s: mode %v, err %v; want a unix socket", name, sock, st, err)
			}
			if d.DockerHost() != "unix://"+sock {
				t.Errorf("%s: DockerHost() = %q, want unix://%s", name, d.DockerHost(), sock)
			}
			if err := harness.CreateContext(ctx, cfg, name, d); err != nil {
				t.Fatal(err)
			}

			version, err := hostCLI(ctx, cfg, "--context", name, "version", "--format", "{{.Server.Version}}")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(version, v.Name+".") {
				t.Errorf("%s: server version %q, want %s.x", name, version, v.Name)
			}
			// The 26.1 CLI's info --format exits 0 without a daemon: the
			// output is what counts.
			info, err := hostCLI(ctx, cfg, "--context", name, "info", "--format", "{{.ID}} {{.Debug}}")
			if err != nil {
				t.Fatal(err)
			}
			id, debug, _ := strings.Cut(info, " ")
			if id == "" || debug != "true" {
				t.Errorf("%s: info through the context = %q, want a daemon ID and debug true", name, info)
			}
			inner := d.MustExec(t, "docker", "info", "--format", "{{.ID}}")
			if id != inner {
				t.Errorf("%s: daemon ID through the context %q, inside the container %q", name, id, inner)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("%s and %s reach the same daemon %s", other, name, id)
			}
			ids[id] = name

			insp, err := d.Inspect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(insp.NetworkSettings.Ports) != 0 || len(insp.HostConfig.PortBindings) != 0 {
				t.Errorf("%s: published ports %v, port bindings %v; want none", name, insp.NetworkSettings.Ports, insp.HostConfig.PortBindings)
			}
		}

		// dockerd recreates its socket at each start; the context survives.
		if err := hosts[0].RestartDaemon(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := hostCLI(ctx, cfg, "--context", "h1", "version", "--format", "{{.Server.Version}}"); err != nil {
			t.Errorf("h1 after a daemon restart: %v", err)
		}

		err = harness.CreateContext(ctx, cfg, "h1", hosts[0])
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("CreateContext of an existing name: err %v, want the CLI's \"already exists\"", err)
		}
		if err := harness.RemoveContext(ctx, cfg, "h3"); err != nil {
			t.Fatal(err)
		}
		if out, err := hostCLI(ctx, cfg, "--context", "h3", "version"); err == nil {
			t.Errorf("docker --context h3 after RemoveContext succeeded: %s", out)
		}

		for i, d := range hosts {
			dir := strings.TrimSuffix(d.SocketPath(), "/docker.sock")
			if err := terminate[i](); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("h%d: socket dir %s after termination: %v, want it gone", i+1, dir, err)
			}
		}
	})
}

func TestCreateContextNeedsTheHostSocket(t *testing.T) {
	err := harness.CreateContext(t.Context(), t.TempDir(), "h1", &harness.DinD{})
	if err == nil || !strings.Contains(err.Error(), "WithHostSocket") {
		t.Errorf("CreateContext without a host socket: err %v, want one naming WithHostSocket", err)
	}
}

func TestRunHostsRemovesEverythingWhenOneFails(t *testing.T) {
	cfg := t.TempDir() // before TMPDIR changes
	// Socket dirs of this test only, so that they can be counted.
	tmp, err := os.MkdirTemp("", "uh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)

	ctx := ctxFor(t)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var starts atomic.Int32
	failSecond := testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
		PostStarts: []testcontainers.ContainerHook{func(context.Context, testcontainers.Container) error {
			if starts.Add(1) == 2 {
				return errors.New("planned failure")
			}
			return nil
		}},
	})
	v := harness.Versions()[0]
	hosts, err := harness.RunHosts(ctx, v.Image, 3,
		testcontainers.WithLabels(map[string]string{"org.docker-userns.test-run": run}), failSecond)
	if err == nil || !strings.Contains(err.Error(), "planned failure") {
		t.Fatalf("RunHosts with a failing host: hosts %v, err %v; want the planned failure", hosts, err)
	}
	if hosts != nil {
		t.Errorf("RunHosts returned hosts %v with its error, want none", hosts)
	}
	left, err := hostCLI(ctx, cfg, "ps", "--all", "--quiet", "--filter", "label=org.docker-userns.test-run="+run)
	if err != nil {
		t.Fatal(err)
	}
	if left != "" {
		t.Errorf("containers left after the failed RunHosts: %s", left)
	}
	// The harness's own dir may stay, with the tools it built; no socket dir.
	own := fmt.Sprintf("docker-userns-harness-%d", os.Getuid())
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != own {
			t.Errorf("left in TMPDIR after the failed RunHosts: %s", e.Name())
		}
	}
	socks, _ := filepath.Glob(filepath.Join(tmp, own, "sock-*"))
	for _, s := range socks {
		t.Errorf("socket dir left after the failed RunHosts: %s", s)
	}
}
