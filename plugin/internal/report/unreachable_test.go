package report

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// TestFleetReportGivesAnUnreachableHostItsRow: a fleet's status (doctor,
// test, check-image) reads every host it can; a host whose ssh fails gets
// a failed row with the cause (the command then exits 1: writeFleet),
// while a rollout still refuses
// before touching any host. Before, one unreachable host failed the whole
// report with no row for the others.
func TestFleetReportGivesAnUnreachableHostItsRow(t *testing.T) {
	fakeSSHContexts(t, map[string]string{"gone": "ssh://deploy@gone", "here": "unix:///nonexistent.sock"})
	var errOut bytes.Buffer
	dockerCLI, err := command.NewDockerCli(command.WithOutputStream(io.Discard), command.WithErrorStream(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	hosts := target.Options{Root: "/", Via: target.ViaDaemon, Contexts: []string{"gone", "here"}}
	read := kind[string]{
		through: func(_ context.Context, t target.Target) (string, error) { return "read " + t.Name, nil },
		row:     func(string) (fleet.Outcome, error) { return fleet.Outcome{Result: "remapping on"}, nil },
	}
	res, err := run(context.Background(), dockerCLI, Options{Hosts: hosts, Progress: &errOut}, read)
	if err != nil {
		t.Fatalf("fleet status with an unreachable host: %v", err)
	}
	var out bytes.Buffer
	if err := fleet.WriteTable(&out, res.Fleet); err != nil {
		t.Fatal(err)
	}
	if fleet.Failed(res.Fleet) != 1 {
		t.Errorf("fleet status with an unreachable host: %s, want one failed host\n%s", fleet.Summary(res.Fleet), out.String())
	}
	table := out.String()
	for _, want := range []string{"gone ", "Could not resolve hostname gone", "here ", "remapping on"} {
		if !strings.Contains(table, want) {
			t.Errorf("fleet status: no %q in\n%s", want, table)
		}
	}
	if res.Hosts[0].Err == nil || res.Hosts[1].Value == nil || *res.Hosts[1].Value != "read here" {
		t.Errorf("fleet status: hosts %+v, want gone's error and here's report", res.Hosts)
	}

	_, err = target.ForChange(context.Background(), dockerCLI, hosts)
	if err == nil || !strings.Contains(err.Error(), "context gone: ssh deploy@gone failed (exit 255): ssh: Could not resolve hostname gone") {
		t.Errorf("a rollout's targets with an unreachable host: got %v, want a refusal naming context gone", err)
	}
}

// fakeSSHContexts makes a Docker config of its own with a context per
// name (its docker host), and puts first on the PATH an ssh that fails as
// ssh does for a host name it cannot resolve.
func fakeSSHContexts(t *testing.T, hosts map[string]string) {
	t.Helper()
	dir := t.TempDir()
	old := config.Dir()
	config.SetDir(dir)
	t.Cleanup(func() { config.SetDir(old) })
	contexts := store.New(config.ContextStoreDir(), command.DefaultContextStoreConfig())
	for name, host := range hosts {
		meta := store.Metadata{
			Name:      name,
			Metadata:  command.DockerContext{},
			Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: host}},
		}
		if err := contexts.CreateOrUpdate(meta); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bin")
	ssh := "#!/bin/sh\necho 'ssh: Could not resolve hostname gone: Name or service not known' >&2\nexit 255\n"
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(ssh), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}
