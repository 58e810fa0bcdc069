package commands

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/cli/cli/command"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// fakeDaemon answers what a command asks of the daemon, from info; any
// other call panics (the embedded nil interface), which names a call a
// test did not expect. docker/cli's commands are tested the same way
// (internal/test.NewFakeCli with a fakeClient per package).
type fakeDaemon struct {
	client.APIClient
	info       system.Info
	images     []image.Summary
	containers []container.Summary
}

// labelled are the items whose labels carry every label key the filter
// asks for (the sweep's only filter).
func labelled[T any](items []T, f client.Filters, labels func(T) map[string]string) []T {
	var out []T
	for _, item := range items {
		keep := true
		for key := range f["label"] {
			if _, ok := labels(item)[key]; !ok {
				keep = false
			}
		}
		if keep {
			out = append(out, item)
		}
	}
	return out
}

func (f *fakeDaemon) ImageList(_ context.Context, opts client.ImageListOptions) (client.ImageListResult, error) {
	return client.ImageListResult{Items: labelled(f.images, opts.Filters, func(i image.Summary) map[string]string { return i.Labels })}, nil
}

func (f *fakeDaemon) ContainerList(_ context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error) {
	return client.ContainerListResult{Items: labelled(f.containers, opts.Filters, func(c container.Summary) map[string]string { return c.Labels })}, nil
}

func (f *fakeDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: f.info}, nil
}

func (f *fakeDaemon) Ping(context.Context, client.PingOptions) (client.PingResult, error) {
	return client.PingResult{APIVersion: "1.44", OSType: "linux"}, nil
}

func (f *fakeDaemon) Close() error { return nil }

// fakeCLI is a real DockerCli, initialized as the plugin framework does
// it, whose API client is a fakeDaemon and whose streams are buffers.
type fakeCLI struct {
	*command.DockerCli
	out, err bytes.Buffer
}

// newFakeCLI makes a fakeCLI with a docker config directory of its own
// (no contexts) and the daemon at a socket nothing listens on.
func newFakeCLI(t *testing.T, api client.APIClient) *fakeCLI {
	t.Helper()
	for _, env := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	c := &fakeCLI{}
	var err error
	c.DockerCli, err = command.NewDockerCli(command.WithOutputStream(&c.out), command.WithErrorStream(&c.err),
		command.WithInputStream(nopReadCloser{}), command.WithAPIClient(api))
	if err != nil {
		t.Fatal(err)
	}
	opts := cliflags.NewClientOptions()
	opts.ConfigDir = t.TempDir()
	opts.Hosts = []string{"unix://" + filepath.Join(t.TempDir(), "docker.sock")}
	if err := c.Initialize(opts); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs `docker userns ARGS` in this process, as the plugin's root
// command (the framework's initialisation already done).
func (c *fakeCLI) run(args ...string) error {
	root := NewStandaloneRootCommand(c, func(*cobra.Command, []string) error { return nil })
	root.SetArgs(args)
	root.SetOut(&c.out)
	root.SetErr(&c.err)
	return root.ExecuteContext(context.Background())
}

type nopReadCloser struct{}

func (nopReadCloser) Read([]byte) (int, error) { return 0, io.EOF }
func (nopReadCloser) Close() error             { return nil }
