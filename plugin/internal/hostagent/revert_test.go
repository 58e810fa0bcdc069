package hostagent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// TestRevertRestoresFilesWhenTheRecordCannotBeWritten (issue 12, case 9):
// a full or read-only /var/lib/docker-userns keeps the agent from writing
// pending.json; it must restore the files all the same, and say what it did
// in its log.
func TestRevertRestoresFilesWhenTheRecordCannotBeWritten(t *testing.T) {
	const before = "alice:100000:65536\n"
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": before, "/var/log/syslog": ""})
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	set := hostchange.Set{{Path: "/etc/subuid", Old: []byte(before), OldExists: true, New: []byte(before + "agent:999:1\n"), Lock: true}}
	applied, err := set.Apply(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{Token: NewToken(), Action: "enable", Socket: "/var/run/docker.sock", Files: applied.Save()}
	if err := Arm(root, rec); err != nil {
		t.Fatal(err)
	}
	setPhase(t, root, rec.Token, Waiting)
	hostfstest.ReadOnly(t, filepath.Join(dir, "var/lib/docker-userns"))

	a := &agent{root: root, rec: rec}
	revertErr := a.revert(context.Background(), "no client confirmed the new daemon within 1m0s of its start", false)
	if got, _ := root.ReadFile("/etc/subuid"); string(got) != before {
		t.Errorf("/etc/subuid after the revert: %q, want %q (revert error: %v)", got, before, revertErr)
	}
	if revertErr == nil {
		t.Error("the revert reported no trouble though its record could not be written")
	}
	log, _ := root.ReadFile(LogPath)
	if !strings.Contains(string(log), "no client confirmed") || !strings.Contains(string(log), "/etc/subuid") {
		t.Errorf("agent log %s lacks the revert:\n%s", LogPath, log)
	}
}

// TestRecordStaysInsideTheRoot (issue 12, case 6): with ROOT/var/lib a link
// to a directory out of the root, arming makes its directory, lock and
// record inside the root, nothing outside.
func TestRecordStaysInsideTheRoot(t *testing.T) {
	out := t.TempDir()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(out, filepath.Join(dir, "var/lib")); err != nil {
		t.Fatal(err)
	}
	root, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, out)
	rec := armed(t, root)
	if _, err := Lookup(root, rec.Token); err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, out, before)
}
