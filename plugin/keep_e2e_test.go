package main_test

import (
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// TestKeepThroughTheDaemon: from outside the host, with only its Docker
// context, enable --keep-images --keep-volumes carries busybox and a named
// volume into the remapped data root (the client saves and loads through
// the API; the copy container mounts host paths the daemon resolves), and
// disable carries them back.
func TestKeepThroughTheDaemon(t *testing.T) {
	v := harness.Versions()[0]
	hosts, config := fleetHosts(t, v, 1)
	d := hosts[0]
	if err := d.ImportBusybox(t.Context(), "busybox:latest"); err != nil {
		t.Fatal(err)
	}
	d.MustExec(t, "docker", "run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo rows > /data/db")

	res := dockerWith(t, config, "--context", "h1", "userns", "enable", "--keep-images", "--keep-volumes", "agent")
	t.Logf("enable said:\n%s%s", res.stderr, res.stdout)
	if res.code != 0 {
		t.Fatalf("enable through the daemon: exit %d", res.code)
	}
	for _, want := range []string{"helper container", "carried      image   busybox:latest", "carried      volume  data"} {
		if !strings.Contains(res.stderr+res.stdout, want) {
			t.Errorf("enable's output lacks %q", want)
		}
	}
	agent := d.MustExec(t, "id", "-u", "agent") + ":" + d.MustExec(t, "id", "-g", "agent")
	dir := d.MustExec(t, "docker", "volume", "inspect", "-f", "{{.Mountpoint}}", "data")
	if got := d.MustExec(t, "stat", "-c", "%u:%g", dir+"/db"); got != agent || !strings.HasPrefix(dir, "/var/lib/docker/"+strings.ReplaceAll(agent, ":", ".")+"/") {
		t.Errorf("carried volume: %s/db owned by %s, want agent %s in the remapped root", dir, got, agent)
	}
	if got := d.MustExec(t, "docker", "run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/db"); got != "rows" {
		t.Errorf("a remapped container reads %q", got)
	}

	res = dockerWith(t, config, "--context", "h1", "userns", "disable", "--keep-images", "--keep-volumes")
	t.Logf("disable said:\n%s%s", res.stderr, res.stdout)
	if res.code != 0 {
		t.Fatalf("disable through the daemon: exit %d", res.code)
	}
	// Counted through the API after the switch, before carrying back: the
	// helper's own container and image left out.
	if want := "The daemon's data root is /var/lib/docker again: its 1 image, 0 containers and 1 volume from before remapping are visible again."; !strings.Contains(res.stdout, want) {
		t.Errorf("disable's output lacks %q", want)
	}
	if got := d.MustExec(t, "docker", "run", "--rm", "-v", "data:/data", "busybox", "stat", "-c", "%u:%g", "/data/db"); got != "0:0" {
		t.Errorf("back unremapped: /data/db owned by %s, want 0:0", got)
	}
}
