// Package hostfstest builds temporary host roots for tests and snapshots
// them, so a test can prove that bad input changed nothing, byte for byte.
package hostfstest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// Tree builds a temporary root holding files (host path => content) and
// returns its directory.
func Tree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}

// Write adds files (host path => content) under dir.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		real := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(real, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Snapshot describes every entry under dir: kind, mode, owner, link target
// and content. Two equal snapshots mean nothing changed.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := st.Mode().String()
		if s, ok := st.Sys().(*syscall.Stat_t); ok {
			desc += fmt.Sprintf(" %d:%d ino=%d", s.Uid, s.Gid, s.Ino)
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case st.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(data)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Unchanged fails the test when the tree under dir differs from before.
func Unchanged(t testing.TB, dir string, before map[string]string) {
	t.Helper()
	after := Snapshot(t, dir)
	var diffs []string
	for p, d := range before {
		if after[p] != d {
			diffs = append(diffs, fmt.Sprintf("changed %s:\n  before %q\n  after  %q", p, d, after[p]))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "new "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("root changed:\n%s", strings.Join(diffs, "\n"))
	}
}

// ReadOnly makes dir read-only for the rest of the test: a read-only bind
// mount when running as root (root ignores mode bits), mode 0555 otherwise.
func ReadOnly(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount %s: %v", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount %s read-only: %v", dir, err)
	}
}
