package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
)

func TestTargetsRefusesBadFleets(t *testing.T) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts hostOptions
		root string
		want string
	}{
		{hostOptions{via: "ssh"}, "/", `invalid --via "ssh": want auto, local or daemon`},
		{hostOptions{via: viaDaemon}, "/tmp", "--root goes with --via local: through the daemon the host root is the daemon's"},
		{hostOptions{via: viaAuto, contexts: []string{"a", "a"}}, "/", `context "a" given twice`},
	} {
		_, err := targets(context.Background(), dockerCLI, c.root, c.opts)
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: got %v, want %q", c.opts, err, c.want)
		}
	}
}

// TestFleetReportGivesAnUnreachableHostItsRow: a fleet's status (doctor,
// test, check-image) reads every host it can; a host whose ssh fails gets
// a row with the cause and the run exits 1, while a rollout still refuses
// before touching any host. Before, one unreachable host failed the whole
// report with no row for the others.
func TestFleetReportGivesAnUnreachableHostItsRow(t *testing.T) {
	fakeSSHContexts(t, map[string]string{"gone": "ssh://deploy@gone", "here": "unix:///nonexistent.sock"})
	var out, errOut bytes.Buffer
	dockerCLI, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	host := hostOptions{via: viaDaemon, contexts: []string{"gone", "here"}}
	read := report[string]{
		through: func(_ context.Context, t target) (string, error) { return "read " + t.name, nil },
		write:   func(w io.Writer, v string) error { _, err := fmt.Fprintln(w, v); return err },
		outcome: func(string) (fleet.Outcome, error) { return fleet.Outcome{Result: "remapping on"}, nil },
	}
	err = runReport(context.Background(), dockerCLI, reportOptions{action: "status", root: "/", host: host}, read)
	var status cli.StatusError
	if !errors.As(err, &status) || status.StatusCode != 1 {
		t.Errorf("fleet status with an unreachable host: got %v, want exit 1\n%s", err, out.String())
	}
	table := out.String()
	for _, want := range []string{"gone ", "Could not resolve hostname gone", "here ", "remapping on"} {
		if !strings.Contains(table, want) {
			t.Errorf("fleet status: no %q in\n%s", want, table)
		}
	}

	_, err = targets(context.Background(), dockerCLI, "/", host)
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
