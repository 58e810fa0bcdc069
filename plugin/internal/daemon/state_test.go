package daemon

import "testing"

func TestRemapsIn(t *testing.T) {
	cases := []struct {
		opts []string
		want bool
	}{
		{nil, false},
		{[]string{"name=seccomp,profile=default"}, false},
		{[]string{"name=seccomp,profile=default", "name=userns"}, true},
		{[]string{"name=usernsX"}, false},
	}
	for _, tc := range cases {
		if got := RemapsIn(tc.opts); got != tc.want {
			t.Errorf("RemapsIn(%v) = %v, want %v", tc.opts, got, tc.want)
		}
	}
}

func TestRemappedRootPair(t *testing.T) {
	cases := []struct {
		dataRoot string
		uid, gid uint32
		ok       bool
	}{
		{"/var/lib/docker/999.999", 999, 999, true},
		{"/srv/docker/100000.100001", 100000, 100001, true},
		{"/var/lib/docker", 0, 0, false},
		{"/var/lib/docker/999.999x", 0, 0, false},
	}
	for _, tc := range cases {
		uid, gid, ok := State{DataRoot: tc.dataRoot}.RemappedRootPair()
		if uid != tc.uid || gid != tc.gid || ok != tc.ok {
			t.Errorf("%s: got %d.%d %v", tc.dataRoot, uid, gid, ok)
		}
	}
}

func TestImageStoreOf(t *testing.T) {
	if got := imageStoreOf("overlayfs", [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}); got != ContainerdStore {
		t.Errorf("containerd store read as %q", got)
	}
	if got := imageStoreOf("overlay2", [][2]string{{"Backing Filesystem", "extfs"}}); got != "overlay2" {
		t.Errorf("overlay2 read as %q", got)
	}
}

func TestReasonInValidateOutput(t *testing.T) {
	for out, want := range map[string]string{
		"time=\"2026-11-28T07:15:56Z\" level=info msg=\"User namespaces: ID ranges will be mapped\"\nCan't create ID mappings: no subuid ranges found for user \"agent\"\n":     `Can't create ID mappings: no subuid ranges found for user "agent"`,
		"unable to configure the Docker daemon with file /tmp/y.json: merged configuration validation from file and command line flags failed: invalid logging level: chatty\n": "unable to configure the Docker daemon with file /tmp/y.json: merged configuration validation from file and command line flags failed: invalid logging level: chatty",
		"time=\"x\" level=fatal msg=\"only a log line\"": `time="x" level=fatal msg="only a log line"`,
		// Docker 29.7 and newer (moby PR #53009, daemon/daemon_unix.go setupRemappedRoot).
		"time=\"2026-12-07T21:00:00Z\" level=info msg=\"User namespaces: ID ranges will be mapped to subuid/subgid ranges of: agent\"\nerror creating ID mappings: no subuid ranges found for user \"agent\"\n": `error creating ID mappings: no subuid ranges found for user "agent"`,
	} {
		if got := reasonIn(out); got != want {
			t.Errorf("reasonIn(%q) = %q, want %q", out, got, want)
		}
	}
}
