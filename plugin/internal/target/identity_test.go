package target

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

func TestCheckTellsAnotherHostsDaemon(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{
		"/var/lib/docker/engine-id":         "local-id\n",
		"/var/lib/docker/999.999/.keep":     "",
		"/srv/docker-only-here/engine-id":   "",
		"/var/lib/docker-older/image/.keep": "",
	})
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		id   Identity
		want string // "" for the same host
	}{
		{"same", Identity{ID: "local-id", Name: "box", DataRoot: "/var/lib/docker"}, ""},
		{"same, remapped", Identity{ID: "local-id", Name: "box", DataRoot: "/var/lib/docker/999.999"}, ""},
		{"before engine-id (20.10)", Identity{ID: "ABCD:EFGH", Name: "box", DataRoot: "/var/lib/docker-older"}, ""},
		{"another ID", Identity{ID: "remote-id", Name: "box", DataRoot: "/var/lib/docker"}, "its ID is remote-id, the engine-id file in its data root here says local-id"},
		{"another name", Identity{ID: "local-id", Name: "far", DataRoot: "/var/lib/docker"}, "it is named far, this host box"},
		{"no such data root", Identity{ID: "x", Name: "box", DataRoot: "/mnt/elsewhere"}, "its data root /mnt/elsewhere is not a directory here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSameHost(root, tc.id, "box")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want the same host, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestCheckRootFlagRefusesEmpty(t *testing.T) {
	if err := CheckRootFlag(""); err == nil || !strings.Contains(err.Error(), `--root ""`) {
		t.Errorf(`--root "": want a refusal, got %v`, err)
	}
	if err := CheckRootFlag("/"); err != nil {
		t.Errorf("--root /: %v", err)
	}
}

type idDaemon struct {
	client.APIClient
	id, name string
}

func (d idDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: system.Info{ID: d.id, Name: d.name, DockerRootDir: "/var/lib/docker"}}, nil
}

func TestOneEachRefusesTwoContextsOfOneDaemon(t *testing.T) {
	ctx := context.Background()
	if err := OneEach(ctx, []Named{{"h1", idDaemon{id: "A", name: "h1"}}, {"h2", idDaemon{id: "B", name: "h2"}}}); err != nil {
		t.Fatalf("two daemons: %v", err)
	}
	err := OneEach(ctx, []Named{{"h1", idDaemon{id: "A", name: "h1"}}, {"h2", idDaemon{id: "B", name: "h2"}}, {"h1-again", idDaemon{id: "A", name: "h1"}}})
	if err == nil || !strings.Contains(err.Error(), "contexts h1 and h1-again lead to the same daemon (ID A") {
		t.Errorf("want a refusal of h1-again, got %v", err)
	}
}
