package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// outsideDir is a directory beside the root, with a secret file in it.
func outsideDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("root:$6$secret:19000::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReadsResolveInsideTheRoot (issue 12, case 6): a symlink in the root,
// absolute or relative, is followed as the host would follow it, inside
// the root: never to the file of that name on this machine. An absolute
// link managed by configuration management reads its target in the root.
func TestReadsResolveInsideTheRoot(t *testing.T) { readsResolveInsideTheRoot(t, nil) }

func readsResolveInsideTheRoot(t *testing.T, sys *sysCalls) {
	out := outsideDir(t)
	dir := hostfstest.Tree(t, map[string]string{
		"/srv/cm/daemon.json": "{\"debug\": true}\n",
	})
	os.MkdirAll(filepath.Join(dir, "etc/docker"), 0o755)
	for link, target := range map[string]string{
		"etc/subuid":             filepath.Join(out, "secret"),
		"etc/subgid":             "../../../../../../../../" + filepath.Join(out, "secret"),
		"etc/docker/daemon.json": "/srv/cm/daemon.json",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := Open(dir)
	r.sys = sys
	for _, p := range []string{"/etc/subuid", "/etc/subgid"} {
		data, err := r.ReadFile(p)
		if !errors.Is(err, fs.ErrNotExist) || strings.Contains(string(data), "secret") {
			t.Errorf("%s through a link out of the root: %q %v, want not found", p, data, err)
		}
		if r.Exists(p) {
			t.Errorf("%s exists through a link out of the root", p)
		}
	}
	data, err := r.ReadFile("/etc/docker/daemon.json")
	if err != nil || string(data) != "{\"debug\": true}\n" {
		t.Errorf("absolute link inside the root: %q %v", data, err)
	}
}

// TestReadsResolveInsideTheRootWithoutOpenat2: the same on a kernel
// without openat2 (before 5.6), or under a seccomp profile that refuses it.
func TestReadsResolveInsideTheRootWithoutOpenat2(t *testing.T) {
	for _, errno := range []unix.Errno{unix.ENOSYS, unix.EPERM} {
		readsResolveInsideTheRoot(t, &sysCalls{openat2: func(int, string, *unix.OpenHow) (int, error) { return -1, errno }})
	}
}

// TestWritesStayInsideTheRoot (issue 12, case 6): with ROOT/etc a link to a
// directory out of the root, a locked write creates its directories, lock
// and file inside the root (where the host would see them), none outside.
func TestWritesStayInsideTheRoot(t *testing.T) {
	out := outsideDir(t)
	dir := t.TempDir()
	if err := os.Symlink(out, filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(dir)
	before := hostfstest.Snapshot(t, out)
	res, err := r.WriteFile("/etc/docker/daemon.json", []byte("{}\n"), WriteOptions{Lock: true, Backup: true, MakeDirs: true, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, out, before)
	if got, err := os.ReadFile(filepath.Join(dir, out, "docker/daemon.json")); err != nil || string(got) != "{}\n" || res.Path != filepath.Join(out, "docker/daemon.json") {
		t.Errorf("written %q %v at %s", got, err, res.Path)
	}
	unlock, err := r.Lock("/etc/subuid", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, out, before)
	unlock()
	matches, err := r.Glob("/etc/docker/*.json")
	if err != nil || len(matches) != 1 || matches[0] != "/etc/docker/daemon.json" {
		t.Errorf("glob through the link: %v %v", matches, err)
	}
}

// FuzzResolveInRoot: whatever a link in the root points to and whatever
// path is asked, Resolve names a path in the root, and ReadFile never reads
// the secret beside it.
func FuzzResolveInRoot(f *testing.F) {
	out := f.TempDir()
	secret := "root:$6$fuzzsecret::::::\n"
	if err := os.WriteFile(filepath.Join(out, "secret"), []byte(secret), 0o600); err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][2]string{
		{"/etc/link", filepath.Join(out, "secret")},
		{"/etc/link/secret", out},
		{"/etc/link", "../../../../../../" + filepath.Join(out, "secret")},
		{"/etc/../../link/x", "/etc/link"},
		{"../../etc/link", "."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, p, target string) {
		if target == "" || len(target) > 256 || len(p) > 256 || strings.ContainsRune(target+p, 0) {
			return
		}
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, "etc/link")); err != nil {
			return
		}
		r, _ := Open(dir)
		if got, err := r.Resolve(p); err == nil {
			if rel, err := filepath.Rel(dir, r.Path(got)); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				t.Fatalf("Resolve(%q) with etc/link -> %q: %q is outside the root", p, target, got)
			}
		}
		for _, q := range []string{p, "/etc/link", "/etc/link/secret"} {
			if data, err := r.ReadFile(q); err == nil && string(data) == secret {
				t.Fatalf("ReadFile(%q) with etc/link -> %q read the file outside the root", q, target)
			}
		}
	})
}

// TestWriteStaysInItsDirectoryWhenALinkIsSwapped (issue 12, case 6): a
// directory swapped for a link out of the root while a write is under way
// (after the path was resolved) does not move the write out of the root:
// the directory is held open from the start.
func TestWriteStaysInItsDirectoryWhenALinkIsSwapped(t *testing.T) {
	out := outsideDir(t)
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n"})
	r, _ := Open(dir)
	before := hostfstest.Snapshot(t, out)
	_, err := r.EditFile("/etc/subuid", WriteOptions{Lock: true, Backup: true, LockTimeout: time.Second}, func([]byte, bool) (Edit, error) {
		if err := os.Rename(filepath.Join(dir, "etc"), filepath.Join(dir, "etc.old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(out, filepath.Join(dir, "etc")); err != nil {
			t.Fatal(err)
		}
		return Edit{Content: []byte("new\n")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, out, before)
	if got, _ := os.ReadFile(filepath.Join(dir, "etc.old/subuid")); string(got) != "new\n" {
		t.Errorf("the write did not land in its own directory: %q", got)
	}
}

// TestReadFileOfAFIFODoesNotHang: a FIFO where a host file should be reads
// as empty instead of blocking the command for ever.
func TestReadFileOfAFIFODoesNotHang(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/.keep": ""})
	if err := unix.Mkfifo(filepath.Join(dir, "etc/subuid"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(dir)
	done := make(chan error, 1)
	go func() { _, err := r.ReadFile("/etc/subuid"); done <- err }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile of a FIFO blocks")
	}
}
