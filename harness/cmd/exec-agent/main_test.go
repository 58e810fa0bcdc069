package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/docker-userns/docker-userns/harness/internal/execproto"
)

// TestServeAll: requests are answered by id, a slow one after a quick one
// sent later; exit codes are the command's, 128+N for a signal, 126 for a
// command that cannot start (missing or not executable); a write makes a new
// file with the mode asked for.
func TestServeAll(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveAll(inR, outW); outW.Close() }()

	reqs := []execproto.Request{
		{ID: 1, Cmd: []string{"sh", "-c", "sleep 0.3; echo slow"}},
		{ID: 2, Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}},
		{ID: 3, Cmd: []string{"sh", "-c", "kill -9 $$"}},
		{ID: 4, Cmd: []string{"no-such-command-here"}},
		{ID: 5, Cmd: []string{plain}},
		{ID: 6, Path: filepath.Join(dir, "sub", "f"), Data: []byte("data\n"), Mode: 0o640},
		{ID: 7},
	}
	go func() {
		enc := json.NewEncoder(inW)
		for _, r := range reqs {
			_ = enc.Encode(r)
		}
		inW.Close()
	}()
	var order []uint64
	got := map[uint64]execproto.Reply{}
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		var r execproto.Reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		order = append(order, r.ID)
		got[r.ID] = r
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(reqs) || order[len(order)-1] != 1 {
		t.Errorf("replies in order %v; want all %d, the slow one (1) last", order, len(reqs))
	}
	for _, c := range []struct {
		id             uint64
		exit           int
		stdout, stderr string
	}{
		{1, 0, "slow\n", ""},
		{2, 3, "out\n", "err\n"},
		{3, 128 + int(syscall.SIGKILL), "", ""},
		{4, 126, "", "*"},
		{5, 126, "", "*"},
	} {
		r := got[c.id]
		if r.Exit != c.exit || string(r.Stdout) != c.stdout || (c.stderr != "*" && string(r.Stderr) != c.stderr) || (c.stderr == "*" && len(r.Stderr) == 0) || r.Err != "" {
			t.Errorf("request %d: %+v; want exit %d, stdout %q, stderr %q", c.id, r, c.exit, c.stdout, c.stderr)
		}
	}
	if got[6].Err != "" {
		t.Errorf("write: %s", got[6].Err)
	}
	if info, err := os.Stat(filepath.Join(dir, "sub", "f")); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("written file: %v, %v; want mode 0640", info, err)
	}
	if got[7].Err == "" {
		t.Error("an empty request got no error")
	}
}

func TestLookupUser(t *testing.T) {
	etc := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0:root:/root:/bin/bash\nagent:x:999:995::/home/agent:/bin/sh\n")
	write("group", "root:x:0:\ndocker:x:996:agent\nagent:x:995:\nci:x:1001:bob,agent\n")
	for _, c := range []struct {
		spec     string
		uid, gid uint32
		groups   []uint32
		home     string
	}{
		{"agent", 999, 995, []uint32{996, 1001}, "/home/agent"},
		{"999", 999, 995, []uint32{996, 1001}, "/home/agent"},
		{"agent:docker", 999, 996, nil, "/home/agent"},
		{"agent:0", 999, 0, nil, "/home/agent"},
		{"1234", 1234, 0, nil, "/"},
		{"root", 0, 0, nil, "/root"},
	} {
		cred, home, err := lookupUser(etc, c.spec)
		if err != nil {
			t.Errorf("%s: %v", c.spec, err)
			continue
		}
		if cred.Uid != c.uid || cred.Gid != c.gid || !slices.Equal(cred.Groups, c.groups) || home != c.home {
			t.Errorf("%s: uid %d gid %d groups %v home %s; want %d %d %v %s", c.spec, cred.Uid, cred.Gid, cred.Groups, home, c.uid, c.gid, c.groups, c.home)
		}
	}
	for _, spec := range []string{"nosuch", "agent:nosuch"} {
		if _, _, err := lookupUser(etc, spec); err == nil || !strings.Contains(err.Error(), "unable to find") {
			t.Errorf("%s: %v; want unable to find", spec, err)
		}
	}
}
