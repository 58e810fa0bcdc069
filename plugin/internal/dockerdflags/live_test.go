package dockerdflags

import (
	"errors"
	"reflect"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
)

// scanLive scans a host booted with systemd, whose view of docker.service
// is st (nil: systemd cannot be asked).
func scanLive(t *testing.T, st *daemon.UnitState, files map[string]string) (*Report, string) {
	t.Helper()
	return scanLiveWith(t, func(string) (*daemon.UnitState, error) {
		if st == nil {
			return nil, errors.New("no systemd")
		}
		return st, nil
	}, files)
}

const booted = "/run/systemd/system/.keep"

// The seed's drop-in placed where the directory guess does not look
// (systemd's "system.control" directory, as `systemctl set-property`
// writes): systemd names it, so enable refuses it before writing.
func TestScanLiveDropInsSystemdNames(t *testing.T) {
	dropIn := "/etc/systemd/system.control/docker.service.d/50-remap.conf"
	rep, _ := scanLive(t, &daemon.UnitState{
		LoadState: "loaded", ActiveState: "active",
		FragmentPath: "/lib/systemd/system/docker.service",
		DropInPaths:  []string{dropIn},
		ExecStart:    []string{"/usr/bin/dockerd", "-H", "fd://", "--userns-remap=agent:agent"},
	}, map[string]string{
		booted:                               "",
		"/lib/systemd/system/docker.service": debianUnit,
		dropIn:                               seedDropIn,
	})
	if !rep.Live || rep.Unit != "/lib/systemd/system/docker.service" || !reflect.DeepEqual(rep.DropIns, []string{dropIn}) {
		t.Errorf("unit %s drop-ins %q live %v", rep.Unit, rep.DropIns, rep.Live)
	}
	if got, want := wheres(rep.UsernsRemap), []string{dropIn + ":3 agent:agent"}; !reflect.DeepEqual(got, want) {
		t.Errorf("userns-remap flags %q, want %q", got, want)
	}
	if rep.Conflict() == nil {
		t.Error("no conflict for the seed's drop-in")
	}
}

// A drop-in written but not yet loaded (no daemon-reload) is not what the
// next restart runs; what systemd runs is, even when no file shows it.
func TestScanLiveExecStartIsTheTruth(t *testing.T) {
	rep, _ := scanLive(t, &daemon.UnitState{
		LoadState: "loaded", ActiveState: "active",
		FragmentPath: "/lib/systemd/system/docker.service",
		ExecStart:    []string{"/usr/bin/dockerd", "-H", "fd://", "--userns-remap", "default", "--data-root=/srv/docker"},
	}, map[string]string{
		booted:                               "",
		"/lib/systemd/system/docker.service": debianUnit,
		"/etc/systemd/system/docker.service.d/new.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --config-file=/new.json\n",
	})
	if got, want := wheres(rep.UsernsRemap), []string{LiveSource + " default"}; !reflect.DeepEqual(got, want) {
		t.Errorf("userns-remap flags %q, want %q", got, want)
	}
	if got := rep.DataRootPath(); got != "/srv/docker" {
		t.Errorf("data root %q, want /srv/docker", got)
	}
	// The unloaded drop-in is not among the files systemd applies.
	if got := rep.DaemonJSONPath(); got != "/etc/docker/daemon.json" {
		t.Errorf("daemon.json %s, want the default", got)
	}
}

// Without an answer from systemd the files are read as before.
func TestScanLiveFallsBackToFiles(t *testing.T) {
	rep, _ := scanLive(t, nil, map[string]string{
		booted:                               "",
		"/lib/systemd/system/docker.service": debianUnit,
		"/run/systemd/system/docker.service.d/remap.conf": seedDropIn,
	})
	if rep.Live || len(rep.UsernsRemap) != 1 || rep.UsernsRemap[0].Source != "/run/systemd/system/docker.service.d/remap.conf" {
		t.Errorf("live %v, flags %+v", rep.Live, rep.UsernsRemap)
	}
}

// --data-root and --config-file in a drop-in are honoured; the running
// daemon's own flags come first. --graph and -g are the old spelling.
func TestScanDataRootAndConfigFileInDropIn(t *testing.T) {
	tests := []struct {
		name, execStart, dataRoot, configFile string
	}{
		{"long form", "/usr/bin/dockerd -H fd:// --data-root=/srv/docker --config-file /srv/daemon.json", "/srv/docker", "/srv/daemon.json"},
		{"separate value", "/usr/bin/dockerd --data-root /mnt/d", "/mnt/d", "/etc/docker/daemon.json"},
		{"old spelling", "/usr/bin/dockerd -g /var/lib/docker-old", "/var/lib/docker-old", "/etc/docker/daemon.json"},
		{"none", "/usr/bin/dockerd -H fd://", "", "/etc/docker/daemon.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, _ := scan(t, map[string]string{
				"/lib/systemd/system/docker.service":             debianUnit,
				"/etc/systemd/system/docker.service.d/data.conf": "[Service]\nExecStart=\nExecStart=" + tt.execStart + "\n",
			})
			if got := rep.DataRootPath(); got != tt.dataRoot {
				t.Errorf("data root %q, want %q", got, tt.dataRoot)
			}
			if got := rep.DaemonJSONPath(); got != tt.configFile {
				t.Errorf("daemon.json %q, want %q", got, tt.configFile)
			}
		})
	}
	rep, _ := scan(t, map[string]string{
		"/lib/systemd/system/docker.service":             debianUnit,
		"/etc/systemd/system/docker.service.d/data.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --data-root=/from/unit\n",
		"/run/docker.pid":                                "77\n",
		"/proc/77/cmdline":                               "/usr/bin/dockerd\x00--data-root=/from/proc\x00",
	})
	if got := rep.DataRootPath(); got != "/from/proc" {
		t.Errorf("data root %q, want the running daemon's /from/proc", got)
	}
}
