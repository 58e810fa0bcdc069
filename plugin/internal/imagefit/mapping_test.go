package imagefit

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// noDaemon is an API client whose daemon never answers.
func noDaemon(t *testing.T) client.APIClient {
	t.Helper()
	api, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "none.sock")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

func TestMappingForSize(t *testing.T) {
	m, err := MappingFor(context.Background(), noDaemon(t), t.TempDir(), 131072, "")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Remapped || m.UIDs != 131072 || m.GIDs != 131072 || m.From != "--size" {
		t.Errorf("mapping %+v", *m)
	}
}

// TestMappingForUnknownDaemon: without --size or --user, a daemon that
// does not answer leaves the mapping unknown, saying why.
func TestMappingForUnknownDaemon(t *testing.T) {
	m, err := MappingFor(context.Background(), noDaemon(t), t.TempDir(), 0, "")
	if m != nil || !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "ask the daemon") {
		t.Errorf("got %v, %v; want no mapping and ErrUnknown asking the daemon", m, err)
	}
}

// TestMappingFromStatus: another host's status gives its map's sizes, a
// daemon that does not remap maps nothing, and no daemon or no map leaves
// the mapping unknown, saying why.
func TestMappingFromStatus(t *testing.T) {
	m := idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}
	got, err := MappingFromStatus(remap.Status{Daemon: &daemon.State{Version: "26.1.5", Remapped: true}, UIDMap: m, GIDMap: m}, nil)
	if err != nil || !got.Remapped || got.UIDs != 65536 || got.GIDs != 65536 || got.DaemonVersion != "26.1.5" || got.From != "the host's status" {
		t.Errorf("remapped: %+v, %v", got, err)
	}
	got, err = MappingFromStatus(remap.Status{Daemon: &daemon.State{Version: "20.10.24"}}, nil)
	if err != nil || got.Remapped || got.DaemonVersion != "20.10.24" {
		t.Errorf("not remapped: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		st      remap.Status
		readErr error
		why     string
	}{
		{remap.Status{DaemonError: "connection refused"}, nil, "(connection refused)"},
		{remap.Status{Daemon: &daemon.State{Remapped: true}}, nil, "(the host's status shows no id map)"},
		{remap.Status{}, errors.New("no helper"), "(the status of the daemon's host: no helper)"},
	} {
		if got, err := MappingFromStatus(tc.st, tc.readErr); got != nil || !errors.Is(err, ErrUnknown) || !strings.HasSuffix(err.Error(), tc.why) {
			t.Errorf("%+v, %v: %+v, %v; want unknown %s", tc.st, tc.readErr, got, err, tc.why)
		}
	}
}
