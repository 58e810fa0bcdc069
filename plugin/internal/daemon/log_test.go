package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLastStartFailureFindsTheReason(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "var/log"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := `time="x" level=info msg="Starting up"
a subdirectory in your graphroot path (/srv/docker/999.999) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories
dind-entry: dockerd exited with status 1; restarting
time="y" level=info msg="Starting up"
time="y" level=warning msg="Your kernel does not support cgroup blkio weight"
`
	if err := os.WriteFile(filepath.Join(dir, "var/log/dockerd.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := LastStartFailure(dir, "/var/log/dockerd.log"); !strings.HasPrefix(got, "a subdirectory in your graphroot path") {
		t.Errorf("got %q", got)
	}
	if got := LastStartFailure(dir, "journalctl -u docker.service"); got != "" {
		t.Errorf("a journal hint is no file: got %q", got)
	}
	// Only what was written after the offset counts.
	if got := StartFailureSince(dir, "/var/log/dockerd.log", int64(len(log))); got != "" {
		t.Errorf("nothing after the end: got %q", got)
	}
}

// A restart that logs more than the 16 KiB read (dockerd 20.10 logs its
// containerd's goroutine dump as one long line) must not make the middle
// of that line look like dockerd's plain exit message. Seen in DinD: a
// disable reverted with "daemon cannot start: its log says: func1\n\t...".
func TestStartFailureSinceSkipsAPartialLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "var/log"), 0o755); err != nil {
		t.Fatal(err)
	}
	dump := `time="z" level=info msg="=== BEGIN goroutine stack dump ===\ngoroutine 1 [running]:\n` +
		strings.Repeat(`github.com/containerd/containerd/gc/scheduler.(*gcScheduler).run.func1\n\tgithub.com/containerd/containerd/gc/scheduler/scheduler.go:132 +0x385\n`, 300) +
		`=== END goroutine stack dump ===" module=containerd`
	log := "time=\"x\" level=info msg=\"Starting up\"\n" + dump + "\ntime=\"y\" level=info msg=\"API listen on /var/run/docker.sock\"\n"
	if err := os.WriteFile(filepath.Join(dir, "var/log/dockerd.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := StartFailureSince(dir, "/var/log/dockerd.log", 0); got != "" {
		t.Errorf("a long line cut by the tail read counted as a failure: %.80q", got)
	}
	if got := LastStartFailure(dir, "/var/log/dockerd.log"); got != "" {
		t.Errorf("LastStartFailure: %.80q", got)
	}
}
