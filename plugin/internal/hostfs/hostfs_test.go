package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

func TestOpenMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Open(dir)
	if err == nil || err.Error() != "root "+dir+": no such directory" {
		t.Fatalf("got %v", err)
	}
}

func TestOpenNotADirectory(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"f": "x"})
	_, err := Open(filepath.Join(dir, "f"))
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("got %v", err)
	}
}

func TestPathStaysInRoot(t *testing.T) {
	r := Root{dir: "/r"}
	for in, want := range map[string]string{
		"/etc/subuid":       "/r/etc/subuid",
		"etc/subuid":        "/r/etc/subuid",
		"/../../etc/passwd": "/r/etc/passwd",
		"/":                 "/r",
	} {
		if got := r.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadFileMissing(t *testing.T) {
	r, _ := Open(t.TempDir())
	_, err := r.ReadFile("/etc/subuid")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
	if err.Error() != "read /etc/subuid: no such file or directory" {
		t.Fatalf("message: %v", err)
	}
}

func TestResolveCases(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/srv/conf/daemon.json": "{}"})
	links := map[string]string{
		"/etc/docker/abs.json": "/srv/conf/daemon.json",
		"/etc/docker/rel.json": "../../srv/conf/daemon.json",
		"/etc/docker/esc.json": "../../../../../srv/conf/daemon.json",
		"/etc/docker/chain":    "abs.json",
		"/etc/docker/dangling": "/srv/conf/new.json",
		"/etc/docker/loop":     "loop",
		"/etc/docker/dirlink":  "/srv/conf",
	}
	for l, target := range links {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(l)), 0o755)
		if err := os.Symlink(target, filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := Open(dir)
	tests := []struct{ in, want, err string }{
		{in: "/srv/conf/daemon.json", want: "/srv/conf/daemon.json"},
		{in: "/etc/docker/abs.json", want: "/srv/conf/daemon.json"},
		{in: "/etc/docker/rel.json", want: "/srv/conf/daemon.json"},
		{in: "/etc/docker/esc.json", want: "/srv/conf/daemon.json"},
		{in: "/etc/docker/chain", want: "/srv/conf/daemon.json"},
		{in: "/etc/docker/dangling", want: "/srv/conf/new.json"},
		{in: "/etc/docker/dirlink/daemon.json", want: "/srv/conf/daemon.json"},
		{in: "/etc/missing/x", want: "/etc/missing/x"},
		{in: "/etc/docker/loop", err: "too many levels of symbolic links"},
	}
	for _, tt := range tests {
		got, err := r.Resolve(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Resolve(%s): want error %q, got %v", tt.in, tt.err, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func TestWriteFileNew(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir)
	res, err := r.WriteFile("/etc/docker/daemon.json", []byte("{}\n"), WriteOptions{Perm: 0o600, Backup: true, Lock: true, MakeDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || !res.Created || res.BackupPath != "" || res.Path != "/etc/docker/daemon.json" {
		t.Fatalf("result %+v", res)
	}
	st, _ := os.Stat(filepath.Join(dir, "etc/docker/daemon.json"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, "etc/docker/daemon.json.lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lock left behind: %v", err)
	}
}

func TestWriteFileUnchanged(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "a:100000:65536\n"})
	r, _ := Open(dir)
	before := hostfstest.Snapshot(t, dir)
	res, err := r.WriteFile("/etc/subuid", []byte("a:100000:65536\n"), WriteOptions{Backup: true, Lock: true})
	if err != nil || res.Changed || res.BackupPath != "" {
		t.Fatalf("res %+v err %v", res, err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestWriteFileKeepsModeOwnerAndBacksUp(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n"})
	real := filepath.Join(dir, "etc/subuid")
	os.Chmod(real, 0o640)
	if os.Geteuid() == 0 {
		if err := os.Chown(real, 1234, 4321); err != nil {
			t.Fatal(err)
		}
	}
	oldIno := inode(t, real)
	r, _ := Open(dir)
	res, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Backup: true, Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Created || res.BackupPath != "/etc/subuid"+BackupSuffix || !res.BackupCreated {
		t.Fatalf("result %+v", res)
	}
	st, _ := os.Stat(real)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	if s := st.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (s.Uid != 1234 || s.Gid != 4321) {
		t.Errorf("owner %d:%d", s.Uid, s.Gid)
	}
	if got, _ := os.ReadFile(real); string(got) != "new\n" {
		t.Errorf("content %q", got)
	}
	bak := filepath.Join(dir, res.BackupPath)
	if got, _ := os.ReadFile(bak); string(got) != "old\n" {
		t.Errorf("backup %q", got)
	}
	if inode(t, bak) != oldIno {
		t.Errorf("backup is not a hard link of the old file")
	}

	// A later write keeps the first backup when KeepBackup vouches for it.
	keep := func(old, backup []byte) bool { return string(old) == "new\n" && string(backup) == "old\n" }
	res, err = r.WriteFile("/etc/subuid", []byte("newer\n"), WriteOptions{Backup: true, KeepBackup: keep})
	if err != nil || res.BackupCreated || res.BackupPath == "" {
		t.Fatalf("second write %+v %v", res, err)
	}
	if got, _ := os.ReadFile(bak); string(got) != "old\n" {
		t.Errorf("backup overwritten: %q", got)
	}
	// Else the backup is made afresh: the content just before the write.
	res, err = r.WriteFile("/etc/subuid", []byte("newest\n"), WriteOptions{Backup: true, KeepBackup: keep})
	if err != nil || !res.BackupCreated {
		t.Fatalf("third write %+v %v", res, err)
	}
	if got, _ := os.ReadFile(bak); string(got) != "newer\n" {
		t.Errorf("backup after the third write: %q", got)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "etc"))
	if len(entries) != 2 {
		t.Errorf("leftover files: %v", entries)
	}
}

func TestWriteFileBackupCopyFallback(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subgid": "old\n"})
	os.Chmod(filepath.Join(dir, "etc/subgid"), 0o600)
	exdev := func(string, string) error { return &os.LinkError{Op: "link", Err: syscall.EXDEV} }
	r, _ := Open(dir)
	res, err := r.WriteFile("/etc/subgid", []byte("new\n"), WriteOptions{Backup: true, link: exdev})
	if err != nil || !res.BackupCreated {
		t.Fatalf("%+v %v", res, err)
	}
	bak := filepath.Join(dir, "etc/subgid"+BackupSuffix)
	got, _ := os.ReadFile(bak)
	st, _ := os.Stat(bak)
	if string(got) != "old\n" || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup %q %v", got, st.Mode())
	}
}

func TestWriteFileThroughSymlink(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/srv/daemon.json": "{}\n"})
	os.MkdirAll(filepath.Join(dir, "etc/docker"), 0o755)
	link := filepath.Join(dir, "etc/docker/daemon.json")
	os.Symlink("/srv/daemon.json", link)
	r, _ := Open(dir)
	res, err := r.WriteFile("/etc/docker/daemon.json", []byte("{\"a\":1}\n"), WriteOptions{Backup: true, Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "/srv/daemon.json" || res.BackupPath != "/srv/daemon.json"+BackupSuffix {
		t.Fatalf("%+v", res)
	}
	if st, _ := os.Lstat(link); st.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("symlink replaced by a file")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "srv/daemon.json")); string(got) != "{\"a\":1}\n" {
		t.Fatalf("target %q", got)
	}
}

func TestWriteFileReadOnly(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n"})
	hostfstest.ReadOnly(t, filepath.Join(dir, "etc"))
	before := hostfstest.Snapshot(t, dir)
	r, _ := Open(dir)
	for _, opts := range []WriteOptions{{}, {Backup: true}, {Lock: true, LockTimeout: time.Millisecond}} {
		_, err := r.WriteFile("/etc/subuid", []byte("new\n"), opts)
		if err == nil {
			t.Fatal("write on a read-only directory succeeded")
		}
		msg := err.Error()
		if !strings.Contains(msg, "/etc/subuid") || strings.Contains(msg, "\n") || strings.Contains(msg, dir) ||
			!(strings.Contains(msg, "read-only file system") || strings.Contains(msg, "permission denied")) || !IsPermission(err) {
			t.Errorf("message %q", msg)
		}
	}
	if _, err := r.RemoveFile("/etc/subuid", WriteOptions{}); err == nil || !IsPermission(err) {
		t.Errorf("remove: %v", err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestWriteFileCheckRefuses(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n"})
	before := hostfstest.Snapshot(t, dir)
	r, _ := Open(dir)
	refuse := errors.New("changed since read")
	_, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Backup: true, Lock: true, Check: func(old []byte, exists bool) error {
		if !exists || string(old) != "old\n" {
			t.Errorf("check saw %q %v", old, exists)
		}
		return refuse
	}})
	if !errors.Is(err, refuse) {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestLockHeldByLiveProcess(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n", "/etc/subuid.lock": "1\x00"})
	before := hostfstest.Snapshot(t, dir)
	r, _ := Open(dir)
	_, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Lock: true, LockTimeout: 250 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || err.Error() != "lock /etc/subuid: locked by another process: pid 1 holds subuid.lock" {
		t.Fatalf("got %v", err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestLockStale(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n", "/etc/subuid.lock": strconv.Itoa(dead) + "\x00"})
	r, _ := Open(dir)
	if _, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Lock: true, LockTimeout: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "etc"))
	if len(entries) != 1 {
		t.Fatalf("lock files left: %v", entries)
	}
}

func TestLockInvalidPid(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n", "/etc/subuid.lock": "garbage"})
	r, _ := Open(dir)
	_, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Lock: true})
	if err == nil || !strings.Contains(err.Error(), "holds no valid pid") {
		t.Fatalf("got %v", err)
	}
}

// TestLockExcludesShadowTools proves the lock is the one usermod honours.
func TestLockExcludesShadowTools(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: usermod --prefix only runs as root")
	}
	usermod, err := exec.LookPath("usermod")
	if err != nil {
		t.Fatalf("usermod (package passwd) is needed: %v", err)
	}
	dir := hostfstest.Tree(t, map[string]string{
		"/etc/passwd":  "root:x:0:0:root:/root:/bin/sh\nagent:x:999:999::/nonexistent:/usr/sbin/nologin\n",
		"/etc/group":   "root:x:0:\nagent:x:999:\n",
		"/etc/shadow":  "root:*:19000:0:99999:7:::\nagent:*:19000:0:99999:7:::\n",
		"/etc/gshadow": "root:*::\nagent:!::\n",
		"/etc/subuid":  "",
		"/etc/subgid":  "",
	})
	r, _ := Open(dir)
	unlock, err := r.Lock("/etc/subuid", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	attempts := lockAttempts(t, filepath.Join(dir, "etc"))
	// usermod retries a held lock once a second: it must wait for us.
	cmd := exec.Command(usermod, "--prefix", dir, "--add-subuids", "200000-200009", "agent")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Two attempts of usermod on the lock given up: it has met ours and
	// retried, and not written.
	for range 2 {
		select {
		case name := <-attempts:
			if name != "subuid."+strconv.Itoa(cmd.Process.Pid) {
				t.Fatalf("usermod gave up a lock attempt through %s", name)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("usermod gave up no further attempt on /etc/subuid.lock within 30 s (did it take the lock?): %s", out.String())
		}
	}
	if got, _ := r.ReadFile("/etc/subuid"); len(got) != 0 {
		t.Fatalf("usermod wrote /etc/subuid while we held its lock: %q", got)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("usermod after unlock: %v %s", err, out.String())
	}
	if got, _ := r.ReadFile("/etc/subuid"); string(got) != "agent:200000:10\n" {
		t.Fatalf("subuid %q", got)
	}
}

// lockAttempts reports each attempt on shadow's subuid.lock given up in
// dir, by the name of the attempt's temporary file: shadow's
// commonio_lock_nowait (lib/commonio.c, shadow 4.13) writes FILE.PID,
// links it to FILE.lock and, when the link fails, removes FILE.PID.
func lockAttempts(t *testing.T, dir string) <-chan string {
	t.Helper()
	events := hostfstest.Watch(t, dir, unix.IN_DELETE)
	attempts := make(chan string, 64)
	go func() {
		for ev := range events {
			if rest, ok := strings.CutPrefix(ev.Name, "subuid."); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				attempts <- ev.Name
			}
		}
	}()
	return attempts
}

func TestRemoveFileAndRestore(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/docker/daemon.json": "{\"a\":1}\n"})
	before := hostfstest.Snapshot(t, dir)
	r, _ := Open(dir)
	res, err := r.RemoveFile("/etc/docker/daemon.json", WriteOptions{Backup: true, Lock: true})
	if err != nil || !res.Changed || res.BackupPath == "" {
		t.Fatalf("%+v %v", res, err)
	}
	if r.Exists("/etc/docker/daemon.json") {
		t.Fatal("still there")
	}
	if err := r.Restore("/etc/docker/daemon.json", res.BackupPath, true); err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, dir, before)
	res, err = r.RemoveFile("/etc/docker/missing.json", WriteOptions{})
	if err != nil || res.Changed {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRestoreAfterWrite(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "a:1:2\n"})
	before := hostfstest.Snapshot(t, dir)
	r, _ := Open(dir)
	res, err := r.WriteFile("/etc/subuid", []byte("b:3:4\n"), WriteOptions{Backup: true, Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restore("/etc/subuid", res.BackupPath, true); err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, dir, before)
}

// TestWriteFileKilled kills a writer at random moments: the file must always
// hold one whole version, never a mix or a truncation.
func TestWriteFileKilled(t *testing.T) {
	if os.Getenv("HOSTFS_KILL_WRITER") != "" {
		killWriter(os.Getenv("HOSTFS_KILL_WRITER"))
		return
	}
	a := strings.Repeat("a", 1<<20)
	b := strings.Repeat("b", 1<<20)
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": a})
	for i := range 12 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWriteFileKilled$")
		cmd.Env = append(os.Environ(), "HOSTFS_KILL_WRITER="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+i*15) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		got, err := os.ReadFile(filepath.Join(dir, "etc/subuid"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != a && string(got) != b {
			t.Fatalf("round %d: partial file of %d bytes", i, len(got))
		}
		if bak, err := os.ReadFile(filepath.Join(dir, "etc/subuid"+BackupSuffix)); err == nil && string(bak) != a && string(bak) != b {
			t.Fatalf("round %d: partial backup of %d bytes", i, len(bak))
		}
	}
	// The next locked write converges: stale lock files are gone. Temp
	// files of a killed writer stay: no later run can tell them from an
	// operator's file of a similar name.
	r, _ := Open(dir)
	if _, err := r.WriteFile("/etc/subuid", []byte("final\n"), WriteOptions{Backup: true, Lock: true, LockTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "etc"))
	for _, e := range entries {
		if n := e.Name(); n != "subuid" && n != "subuid"+BackupSuffix && !strings.HasPrefix(n, ".subuid.tmp") {
			t.Errorf("left behind: %s", n)
		}
	}
}

func killWriter(dir string) {
	r, err := Open(dir)
	if err != nil {
		os.Exit(2)
	}
	a := strings.Repeat("a", 1<<20)
	b := strings.Repeat("b", 1<<20)
	for i := 0; ; i++ {
		content := a
		if i%2 == 0 {
			content = b
		}
		// Lock timeouts are expected: the previous writer was killed holding it
		// and its pid is dead, so the stale lock is broken.
		r.WriteFile("/etc/subuid", []byte(content), WriteOptions{Backup: true, Lock: true, LockTimeout: time.Second})
	}
}

// TestWriteFileKeepsOperatorFiles (issue 12, case 2): files beside the one
// written that merely look like ours stay: an operator's dated copy
// (FILE.<number>, no live pid of that number) and a hidden notes file that
// starts like our temp names. Only a dead lock attempt's pid file of ours
// (FILE.<pid> holding that pid) is cleaned up.
func TestWriteFileKeepsOperatorFiles(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(cmd.Process.Pid)
	dir := hostfstest.Tree(t, map[string]string{
		"/etc/subuid":            "old\n",
		"/etc/subuid.20240101":   "alice:100000:65536\n",
		"/etc/.subuid.tmp-notes": "remember bob\n",
		"/etc/subuid." + dead:    dead + "\x00",
	})
	r, _ := Open(dir)
	if _, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Backup: true, Lock: true}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"etc/subuid.20240101": "alice:100000:65536\n", "etc/.subuid.tmp-notes": "remember bob\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != want {
			t.Errorf("%s: %q %v", p, got, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "etc/subuid."+dead)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale lock pid file subuid.%s left behind: %v", dead, err)
	}
}

// TestLockPidFileFollowsNoSymlink (issue 12, case 6, lock part): a symlink
// planted where the lock's pid file goes must not make the lock write
// through it to a file outside the root.
func TestLockPidFileFollowsNoSymlink(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(outside, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n"})
	if err := os.Symlink(outside, filepath.Join(dir, "etc/subuid."+strconv.Itoa(os.Getpid()))); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(dir)
	_, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Lock: true, LockTimeout: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not a lock file of ours") {
		t.Errorf("want a refusal naming the planted file, got %v", err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "keep me\n" {
		t.Errorf("file outside the root: %q", got)
	}
}

// TestLockCleansBesideTheLockOfALink: the stale pid files cleaned are the
// ones beside the lock (beside a symlinked file, as shadow puts them), in a
// root whose path holds glob characters.
func TestLockCleansBesideTheLockOfALink(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(cmd.Process.Pid)
	dir := filepath.Join(t.TempDir(), "root[1]")
	hostfstest.Write(t, dir, map[string]string{"/srv/subuid": "old\n", "/etc/subuid." + dead: dead + "\x00"})
	if err := os.Symlink("/srv/subuid", filepath.Join(dir, "etc/subuid")); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(dir)
	if _, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Lock: true, LockTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "etc/subuid."+dead)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale pid file beside the link left: %v", err)
	}
}
