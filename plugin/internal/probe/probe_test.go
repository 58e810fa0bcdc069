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

// smallProgramFile builds the small probe program, as `make build` does before
// embedding it.
func smallProgramFile(t *testing.T) program {
	t.Helper()
	bin := filepath.Join(t.TempDir(), SmallProgram)
	if err := harness.BuildStatic(bin, harness.ProbeProgramPackage); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return program{content: f, size: st.Size()}
}

// TestProbeOnUnremappedDaemon: an image of the plugin's binary and one of
// the small probe program answer the same actions alike.
func TestProbeOnUnremappedDaemon(t *testing.T) {
	ctx := context.Background()
	api := dockerClient(t)
	secret := File{Path: "/etc/secret", Mode: 0o600, Content: []byte("s3cret")}
	for _, c := range []struct {
		name  string
		build func() (Image, error)
	}{
		{"plugin binary", func() (Image, error) { return Build(ctx, api, pluginBinary(t), secret) }},
		{"small probe program", func() (Image, error) { return build(ctx, api, smallProgramFile(t), []File{secret}) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := img.Remove(context.Background()); err != nil {
					t.Error(err)
				}
			})
			probeUnremapped(t, img)
		})
	}
}

func probeUnremapped(t *testing.T, img Image) {
	ctx := context.Background()
	res, err := img.Run(ctx, RunOptions{Args: []string{"idmap"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("idmap: %v %+v", err, res)
	}
	maps, err := DecodeIDMaps(res.Stdout)
	if err != nil || !strings.Contains(maps.UIDMap, `0          0 4294967295`) {
		t.Errorf("unremapped daemon: want the identity uid_map, got %s (%v)", res.Stdout, err)
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
