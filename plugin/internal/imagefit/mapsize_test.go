package imagefit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostRoot writes an etc/ with the given files under a temp dir.
func hostRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var ownerLayout = map[string]string{
	"passwd": "root:x:0:0::/root:/bin/sh\nagent:x:999:998::/home/agent:/bin/sh\ndockremap:x:120:130::/:/bin/false\n",
	"group":  "root:x:0:\nagent:x:998:\ndockremap:x:130:\n",
	"subuid": "# comment\nagent:999:1\n999:100000:65536\ndockremap:300000:65536\n",
	"subgid": "agent:998:1\nagent:100000:131072\ndockremap:300000:65536\n",
}

func TestForUserCases(t *testing.T) {
	root := hostRoot(t, ownerLayout)
	for _, tc := range []struct {
		spec       string
		uids, gids uint64
		err        string
	}{
		{spec: "agent", uids: 65537, gids: 131073},
		{spec: "999:998", uids: 65537, gids: 131073},
		{spec: "default", uids: 65536, gids: 65536},
		{spec: "nobody", err: "no such user"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			m, err := ForUser(root, tc.spec, "28.5.2")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !m.Remapped || m.UIDs != tc.uids || m.GIDs != tc.gids {
				t.Errorf("got %+v, want %d uids %d gids", m, tc.uids, tc.gids)
			}
		})
	}
}

func TestForUserMalformed(t *testing.T) {
	root := hostRoot(t, map[string]string{"subuid": "agent:999\n", "subgid": ""})
	_, err := ForUser(root, "agent", "28.5.2")
	if err == nil || !strings.Contains(err.Error(), "subuid:1") {
		t.Fatalf("error %v, want one naming subuid:1", err)
	}
}

func TestForDaemonCases(t *testing.T) {
	root := hostRoot(t, ownerLayout)
	for _, tc := range []struct {
		name       string
		secopts    []string
		dataRoot   string
		remapped   bool
		uids, gids uint64
		unknown    bool
	}{
		{name: "Off", secopts: []string{"name=seccomp,profile=default"}, dataRoot: "/var/lib/docker"},
		{name: "Owner", secopts: []string{"name=seccomp,profile=default", "name=userns"}, dataRoot: "/var/lib/docker/999.998", remapped: true, uids: 65537, gids: 131073},
		{name: "Isolated", secopts: []string{"name=userns"}, dataRoot: "/var/lib/docker/300000.300000", remapped: true, uids: 65536, gids: 65536},
		{name: "NoRange", secopts: []string{"name=userns"}, dataRoot: "/var/lib/docker/5000.5000", unknown: true},
		{name: "OddDataRoot", secopts: []string{"name=userns"}, dataRoot: "/data", unknown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ForDaemon(tc.secopts, tc.dataRoot, "28.5.2", root)
			if tc.unknown {
				if !errors.Is(err, ErrUnknown) {
					t.Fatalf("error %v, want ErrUnknown", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Remapped != tc.remapped || m.UIDs != tc.uids || m.GIDs != tc.gids {
				t.Errorf("got %+v, want remapped %v %d uids %d gids", m, tc.remapped, tc.uids, tc.gids)
			}
		})
	}
}

// TestForUserReadsAsTheDaemonVersion: Docker 26.1 reads only the lines
// keyed by agent's uid when there are any; 28.5 reads both kinds.
func TestForUserReadsAsTheDaemonVersion(t *testing.T) {
	root := hostRoot(t, ownerLayout)
	for version, uids := range map[string]uint64{"26.1.5": 65536, "28.5.2": 65537} {
		m, err := ForUser(root, "agent", version)
		if err != nil || m.UIDs != uids {
			t.Errorf("Docker %s: %+v %v, want %d uids", version, m, err, uids)
		}
	}
}
