package dockerdflags

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// debianUnit is Debian bookworm's docker.io unit, trimmed.
const debianUnit = `[Unit]
Description=Docker Application Container Engine

[Service]
Type=notify
EnvironmentFile=-/etc/default/docker
ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS
ExecReload=/bin/kill -s HUP $MAINPID
`

// seedDropIn is the drop-in from the seed blog post.
const seedDropIn = `[Service]
ExecStart=
ExecStart=/usr/bin/dockerd -H fd:// --userns-remap="agent:agent"
`

func scan(t *testing.T, files map[string]string) (*Report, string) {
	t.Helper()
	return scanLiveWith(t, liveUnit, files)
}

// scanLiveWith scans a tree of files asking systemd through live.
func scanLiveWith(t *testing.T, live func(string) (*daemon.UnitState, error), files map[string]string) (*Report, string) {
	t.Helper()
	dir := hostfstest.Tree(t, files)
	r, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, dir)
	rep, err := scanWith(r, live)
	if err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, dir, before)
	return rep, dir
}

func wheres(flags []Flag) []string {
	var out []string
	for _, f := range flags {
		out = append(out, f.Where()+" "+f.Value)
	}
	return out
}

func TestScanCases(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		remap      []string
		configFile string
		execStart  string
	}{
		{name: "nothing", files: nil, configFile: "/etc/docker/daemon.json"},
		{name: "plain debian unit", files: map[string]string{"/lib/systemd/system/docker.service": debianUnit},
			configFile: "/etc/docker/daemon.json", execStart: "/lib/systemd/system/docker.service:7"},
		{name: "seed drop-in", files: map[string]string{
			"/lib/systemd/system/docker.service":                     debianUnit,
			"/etc/systemd/system/docker.service.d/userns-remap.conf": seedDropIn},
			remap: []string{"/etc/systemd/system/docker.service.d/userns-remap.conf:3 agent:agent"}, execStart: "/etc/systemd/system/docker.service.d/userns-remap.conf:3",
			configFile: "/etc/docker/daemon.json"},
		{name: "reset by a later drop-in", files: map[string]string{
			"/usr/lib/systemd/system/docker.service":             debianUnit,
			"/etc/systemd/system/docker.service.d/10-remap.conf": seedDropIn,
			"/run/systemd/system/docker.service.d/20-plain.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --config-file=/srv/daemon.json\n"},
			configFile: "/srv/daemon.json", execStart: "/run/systemd/system/docker.service.d/20-plain.conf:3"},
		{name: "masked drop-in of the same name", files: map[string]string{
			"/lib/systemd/system/docker.service":                  debianUnit,
			"/lib/systemd/system/docker.service.d/remap.conf":     seedDropIn,
			"/etc/systemd/system/docker.service.d/remap.conf":     "[Service]\nEnvironment=X=1\n",
			"/etc/systemd/system/docker.service.d/other.conf.bak": seedDropIn},
			configFile: "/etc/docker/daemon.json", execStart: "/lib/systemd/system/docker.service:7"},
		{name: "flag in another section is ignored", files: map[string]string{
			"/etc/systemd/system/docker.service": "[Unit]\nExecStart=/usr/bin/dockerd --userns-remap=x\n[Service]\nExecStart=/usr/bin/dockerd\n"},
			configFile: "/etc/docker/daemon.json", execStart: "/etc/systemd/system/docker.service:4"},
		{name: "continuation and separate value", files: map[string]string{
			"/etc/systemd/system/docker.service": "[Service]\nExecStart=/usr/bin/dockerd \\\n  --userns-remap agent \\\n  --config-file /etc/docker/other.json\n"},
			remap: []string{"/etc/systemd/system/docker.service:2 agent"}, configFile: "/etc/docker/other.json", execStart: "/etc/systemd/system/docker.service:2"},
		{name: "DOCKER_OPTS used by the unit", files: map[string]string{
			"/lib/systemd/system/docker.service": debianUnit,
			"/etc/default/docker":                "# Docker options\nDOCKER_OPTS=\"--dns 8.8.8.8 --userns-remap=default\"\n"},
			remap: []string{"/etc/default/docker:2 default"}, configFile: "/etc/docker/daemon.json", execStart: "/lib/systemd/system/docker.service:7"},
		{name: "OPTIONS not used by the unit", files: map[string]string{
			"/lib/systemd/system/docker.service": debianUnit,
			"/etc/sysconfig/docker":              "OPTIONS='--userns-remap=agent'\n"},
			configFile: "/etc/docker/daemon.json", execStart: "/lib/systemd/system/docker.service:7"},
		{name: "sysconfig without systemd", files: map[string]string{
			"/etc/sysconfig/docker": "OPTIONS='--selinux-enabled --userns-remap=agent'\n"},
			remap: []string{"/etc/sysconfig/docker:1 agent"}, configFile: "/etc/docker/daemon.json"},
		{name: "Environment= in a drop-in", files: map[string]string{
			"/lib/systemd/system/docker.service":            debianUnit,
			"/etc/systemd/system/docker.service.d/env.conf": "[Service]\nEnvironment=\"DOCKER_OPTS=--userns-remap=agent --config-file=/x.json\"\n"},
			remap: []string{"/etc/systemd/system/docker.service.d/env.conf:2 agent"}, configFile: "/x.json", execStart: "/lib/systemd/system/docker.service:7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, _ := scan(t, tt.files)
			if got := wheres(rep.UsernsRemap); !reflect.DeepEqual(got, tt.remap) {
				t.Errorf("userns-remap flags %q, want %q", got, tt.remap)
			}
			if got := rep.DaemonJSONPath(); got != tt.configFile {
				t.Errorf("daemon.json %s, want %s", got, tt.configFile)
			}
			got := ""
			if rep.ExecStart != nil {
				got = rep.ExecStart.Where()
			}
			if got != tt.execStart {
				t.Errorf("ExecStart at %q, want %q", got, tt.execStart)
			}
			if (rep.Conflict() != nil) != (len(tt.remap) > 0) {
				t.Errorf("Conflict() = %v", rep.Conflict())
			}
		})
	}
}

func TestScanRunningDaemon(t *testing.T) {
	rep, _ := scan(t, map[string]string{
		"/lib/systemd/system/docker.service": debianUnit,
		"/var/run/docker.pid":                "4242\n",
		"/proc/4242/cmdline":                 "/usr/sbin/dockerd\x00-H\x00fd://\x00--config-file\x00/etc/docker/live.json\x00--userns-remap=agent\x00",
	})
	if rep.PID != 4242 {
		t.Errorf("pid %d", rep.PID)
	}
	if got := wheres(rep.UsernsRemap); !reflect.DeepEqual(got, []string{"/proc/4242/cmdline agent"}) {
		t.Errorf("%q", got)
	}
	if rep.DaemonJSONPath() != "/etc/docker/live.json" {
		t.Errorf("daemon.json %s", rep.DaemonJSONPath())
	}
	err := rep.Conflict()
	if err == nil || err.Error() != "/proc/4242/cmdline: dockerd already gets --userns-remap=agent there; dockerd refuses to start with it both as a flag and in daemon.json: remove it there first" {
		t.Errorf("conflict %v", err)
	}
}

func TestScanStalePidFile(t *testing.T) {
	rep, _ := scan(t, map[string]string{
		"/run/docker.pid":     "77\n",
		"/proc/78/cmdline":    "dockerd\x00--userns-remap=x\x00",
		"/var/run/docker.pid": "junk",
	})
	if rep.PID != 0 || len(rep.UsernsRemap) != 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestScanNotDockerd(t *testing.T) {
	rep, _ := scan(t, map[string]string{
		"/run/docker.pid": "5\n",
		"/proc/5/cmdline": "/bin/sleep\x00--userns-remap=x\x00",
	})
	if rep.PID != 0 || len(rep.UsernsRemap) != 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestScanBadQuote(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/systemd/system/docker.service": "[Service]\nExecStart=/usr/bin/dockerd --label \"oops\n"})
	r, _ := hostfs.Open(dir)
	_, err := Scan(r)
	if err == nil || err.Error() != "/etc/systemd/system/docker.service:2: ExecStart: unterminated \" quote" {
		t.Fatalf("got %v", err)
	}
}

func TestScanRealHost(t *testing.T) {
	// The machine's own files must scan without error (whatever they hold).
	r, _ := hostfs.Open("/")
	rep, err := Scan(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/var/run/docker.pid"); err == nil && rep.PID == 0 {
		data, _ := os.ReadFile("/var/run/docker.pid")
		if _, err := os.Stat("/proc/" + strings.TrimSpace(string(data))); err == nil {
			t.Errorf("a dockerd runs (pid file %q) but was not found", data)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{`--userns-remap="agent:agent"`, []string{"--userns-remap=agent:agent"}},
		{`'a b' "c\"d" e\ f`, []string{"a b", `c"d`, "e f"}},
		{``, []string{""}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v", tt.in, got, err)
		}
	}
}
