// Package daemontest makes stand-ins for dockerd in tests: a live process
// of this machine named dockerd, and a static program built to sit at a
// tree's /usr/bin/dockerd.
package daemontest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Live is a process of this machine named dockerd (a copy of sleep),
// killed when the test ends.
type Live struct{ cmd *exec.Cmd }

// StartLive starts a Live dockerd.
func StartLive(t testing.TB) Live {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "dockerd")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return Live{cmd: cmd}
}

// PID is its pid.
func (l Live) PID() int { return l.cmd.Process.Pid }

// Pidfile is what dockerd writes to its pidfile.
func (l Live) Pidfile() string { return strconv.Itoa(l.PID()) + "\n" }

// Alive: not exited (a zombie not yet reaped counts as exited).
func (l Live) Alive() bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(l.PID()) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

// Build compiles source (a main package using only the standard library)
// into a static program at dest, which runs in a chroot with nothing else.
func Build(t testing.TB, dest, source string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", dest, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", dest, err, out)
	}
}
