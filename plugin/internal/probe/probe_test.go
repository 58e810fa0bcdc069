package probe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"

	"github.com/moby/moby/client"
)

// pluginBinary builds the plugin as a static binary, as `make build` does.
func pluginBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "docker-userns")
	if err := harness.BuildPlugin(bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func dockerClient(t *testing.T) client.APIClient {
	t.Helper()
	api, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	if _, err := api.Ping(context.Background(), client.PingOptions{}); err != nil {
		t.Fatalf("this test needs a Docker engine (make docker starts one): %v", err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

func TestProbeOnUnremappedDaemon(t *testing.T) {
	ctx := context.Background()
	api := dockerClient(t)
	img, err := Build(ctx, api, pluginBinary(t), File{Path: "/etc/secret", Mode: 0o600, Content: []byte("s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := img.Remove(context.Background()); err != nil {
			t.Error(err)
		}
	})

	res, err := img.Run(ctx, RunOptions{Args: []string{"idmap"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("idmap: %v %+v", err, res)
	}
	if !strings.Contains(res.Stdout, `0          0 4294967295`) {
		t.Errorf("unremapped daemon: want the identity uid_map, got %s", res.Stdout)
	}

	dir := t.TempDir()
	res, err = img.Run(ctx, RunOptions{Args: []string{"write", "/mnt/out"}, Binds: []string{dir + ":/mnt"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("write: %v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err != nil {
		t.Errorf("file written by the probe: %v", err)
	}

	res, err = img.Run(ctx, RunOptions{Args: []string{"read", "/etc/secret"}, User: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "permission denied") {
		t.Errorf("uid 1000 reading a root-only file: want permission denied, got %+v", res)
	}
}

func TestMainWriteWithMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	var out, errOut strings.Builder
	if code := Main([]string{"write", path, "0600"}, &out, &errOut); code != 0 {
		t.Fatalf("write with mode: exit %d: %s", code, errOut.String())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", st.Mode().Perm())
	}
	if code := Main([]string{"write", path, "rw"}, &out, &errOut); code != 1 {
		t.Errorf("write with mode rw: exit %d, want 1", code)
	}
}
