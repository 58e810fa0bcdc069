package commands

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// What people read, made by the real command: each case runs `docker
// userns ARGS` in this process against a fake daemon, on a tree given by
// --root (so the daemon is not asked about the host), and compares
// stdout and stderr with testdata/run-NAME.golden (go test -update
// rewrites them). The temporary root reads as ROOT.

// remappedTree is a host enable has set up for agent: daemon.json names
// it, its ranges hold its own id and 65535 more.
var remappedTree = map[string]string{
	"etc/passwd":             "root:x:0:0:root:/root:/bin/bash\nagent:x:999:995::/home/agent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/sh\n",
	"etc/group":              "root:x:0:\nagent:x:995:\nalice:x:1000:\n",
	"etc/subuid":             "alice:100000:65536\nagent:999:1\nagent:165536:65535\n",
	"etc/subgid":             "alice:100000:65536\nagent:995:1\nagent:165536:65535\n",
	"etc/docker/daemon.json": "{\n  \"log-level\": \"warn\",\n  \"userns-remap\": \"agent\"\n}\n",
}

// plainTree is the same host before enable.
var plainTree = map[string]string{
	"etc/passwd":             remappedTree["etc/passwd"],
	"etc/group":              remappedTree["etc/group"],
	"etc/subuid":             "alice:100000:65536\n",
	"etc/subgid":             "alice:100000:65536\n",
	"etc/docker/daemon.json": "{\n  \"log-level\": \"warn\"\n}\n",
}

func TestCommandOutputGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tree  map[string]string
		args  []string
		fails bool
	}{
		{name: "status", tree: remappedTree, args: []string{"status"}},
		{name: "status-json", tree: remappedTree, args: []string{"status", "--format", "json"}},
		{name: "status-plain", tree: plainTree, args: []string{"status"}},
		{name: "doctor", tree: plainTree, args: []string{"doctor"}},
		{name: "doctor-remapped", tree: remappedTree, args: []string{"doctor"}},
		{name: "enable-dry-run", tree: plainTree, args: []string{"enable", "--dry-run", "agent"}},
		{name: "enable-dry-run-already", tree: remappedTree, args: []string{"enable", "--dry-run", "agent"}},
		{name: "disable-dry-run", tree: remappedTree, args: []string{"disable", "--dry-run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := hostfstest.Tree(t, tc.tree)
			before := hostfstest.Snapshot(t, root)
			cli := newFakeCLI(t, &fakeDaemon{info: system.Info{ServerVersion: "28.5.2", DockerRootDir: "/var/lib/docker"}})
			err := cli.run(append(tc.args, "--root", root)...)
			if (err != nil) != tc.fails {
				t.Errorf("docker userns %s: error %v", strings.Join(tc.args, " "), err)
			}
			out := "--- stdout\n" + cli.out.String() + "--- stderr\n" + cli.err.String()
			if err != nil {
				out += "--- error\n" + err.Error() + "\n"
			}
			golden.Assert(t, strings.ReplaceAll(out, root, "ROOT"), "run-"+tc.name+".golden")
			hostfstest.Unchanged(t, root, before)
		})
	}
}
