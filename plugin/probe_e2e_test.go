package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// localDaemon is this machine's Docker engine (make docker starts one).
func localDaemon(t *testing.T) client.APIClient {
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

// TestProbeOnUnremappedDaemon: an image of the plugin's binary and one of
// the small probe program answer the same actions alike (moved here from
// plugin/internal/probe, whose tests need no Docker).
func TestProbeOnUnremappedDaemon(t *testing.T) {
	ctx := context.Background()
	api := localDaemon(t)
	bin := filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns")
	if !probe.HasSmallProgram() {
		t.Fatal("this test binary embeds no small probe program: run make build first")
	}
	secret := probe.File{Path: "/etc/secret", Mode: 0o600, Content: []byte("s3cret")}
	for _, c := range []struct {
		name  string
		build func(context.Context, client.APIClient, string, ...probe.File) (probe.Image, error)
	}{
		{"plugin binary", probe.Build},
		{"small probe program", probe.BuildSmall},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := c.build(ctx, api, bin, secret)
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

func probeUnremapped(t *testing.T, img probe.Image) {
	ctx := context.Background()
	res, err := img.Run(ctx, probe.RunOptions{Args: []string{"idmap"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("idmap: %v %+v", err, res)
	}
	maps, err := probe.DecodeIDMaps(res.Stdout)
	if err != nil || !strings.Contains(maps.UIDMap, `0          0 4294967295`) {
		t.Errorf("unremapped daemon: want the identity uid_map, got %s (%v)", res.Stdout, err)
	}

	dir := t.TempDir()
	res, err = img.Run(ctx, probe.RunOptions{Args: []string{"write", "/mnt/out"}, Binds: []string{dir + ":/mnt"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("write: %v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err != nil {
		t.Errorf("file written by the probe: %v", err)
	}

	res, err = img.Run(ctx, probe.RunOptions{Args: []string{"read", "/etc/secret"}, User: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "permission denied") {
		t.Errorf("uid 1000 reading a root-only file: want permission denied, got %+v", res)
	}
}
