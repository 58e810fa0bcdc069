package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusFormatThroughDockerCLI runs the real `docker userns status`
// on a temporary --root, with no daemon behind DOCKER_HOST: a table
// template prints docker's headers, json one object on one line.
func TestStatusFormatThroughDockerCLI(t *testing.T) {
	root := t.TempDir()
	for name, content := range map[string]string{
		"etc/passwd":             "root:x:0:0:root:/root:/bin/bash\nagent:x:999:995::/home/agent:/usr/sbin/nologin\n",
		"etc/group":              "root:x:0:\nagent:x:995:\n",
		"etc/subuid":             "agent:999:1\nagent:165536:65535\n",
		"etc/subgid":             "agent:995:1\nagent:165536:65535\n",
		"etc/docker/daemon.json": `{"userns-remap": "agent"}` + "\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := completionConfig(t)
	status := func(format string) string {
		t.Helper()
		cmd := command(t, "docker", "userns", "status", "--root", root, "--format", format)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config, "DOCKER_HOST=unix:///nonexistent.sock", "DOCKER_CONTEXT=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("docker userns status --format %q: %v\n%s", format, err, out)
		}
		return string(out)
	}
	table := status(`table {{.Setting}}\t{{.Source}}\t{{.UIDMap}}\t{{.Root.User}}`)
	want := "SETTING   SOURCE                    UID MAP                   USER\n" +
		"agent     /etc/docker/daemon.json   0 999 1, 1 165536 65535   agent\n"
	if table != want {
		t.Errorf("table template:\n got %q\nwant %q", table, want)
	}
	line := status("json")
	var st struct {
		Setting     string `json:"setting"`
		DaemonError string `json:"daemonError"`
		UIDMap      []struct{ Container, Host, Size uint64 }
	}
	if strings.Count(line, "\n") != 1 || json.Unmarshal([]byte(line), &st) != nil || st.Setting != "agent" || st.DaemonError == "" || len(st.UIDMap) != 2 {
		t.Errorf("json: want one line, one object with the setting, the daemon's error and the map; got %q", line)
	}
	if got := status(`{{.Setting}} {{len .UIDRanges}}`); got != "agent 2\n" {
		t.Errorf("template: got %q", got)
	}
}
