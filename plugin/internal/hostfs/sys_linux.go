package hostfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The open flags OpenFile and its callers use; sys_other.go has the
// stand-ins of systems where hostfs does not act.
const (
	oPath      = unix.O_PATH
	oDirectory = unix.O_DIRECTORY
	oNonBlock  = syscall.O_NONBLOCK
)

// NoFollow is O_NOFOLLOW, for callers that open a resolved path.
const NoFollow = syscall.O_NOFOLLOW

// Flock locks f exclusively (flock(2)); with wait false it fails with
// EWOULDBLOCK at once when another holds the lock. Funlock releases it.
func Flock(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	return syscall.Flock(int(f.Fd()), how)
}

// Funlock releases Flock's lock.
func Funlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// supported: hostfs acts on Linux hosts.
func supported() error { return nil }

// errNoOpenat2 is a kernel without openat2 (before 5.6), or a seccomp
// profile that refuses what it does not know (older container runtimes say
// EPERM): OpenFile resolves by itself then.
var errNoOpenat2 = errors.New("openat2 is not available")

// sysCalls are the system calls a Root makes that tests replace: openat2
// to exercise the fallback (nil: unix.Openat2).
type sysCalls struct {
	openat2 func(dirfd int, path string, how *unix.OpenHow) (int, error)
}

// openInRoot opens rel under the directory root with openat2's
// RESOLVE_IN_ROOT and returns the new file descriptor.
func openInRoot(root, rel string, flags int, perm fs.FileMode, sys *sysCalls) (uintptr, error) {
	openat2 := unix.Openat2
	if sys != nil && sys.openat2 != nil {
		openat2 = sys.openat2
	}
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dir)
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(perm.Perm()), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for tries := 0; ; tries++ {
		fd, err := openat2(dir, rel, &how)
		switch {
		case err == nil:
			return uintptr(fd), nil
		case errors.Is(err, unix.EAGAIN) && tries < 20:
			continue // a rename raced the lookup
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			return 0, errNoOpenat2
		}
		return 0, &fs.PathError{Op: "open", Path: root + "/" + rel, Err: err}
	}
}

// linkCount is a file's number of hard links.
func linkCount(st fs.FileInfo) (uint64, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(s.Nlink), true
}

// owner is a file's owning user and group.
func owner(st fs.FileInfo) (uid, gid int, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(s.Uid), int(s.Gid), true
}

// alive reports whether pid is a running process (kill with signal 0;
// EPERM means it exists but belongs to someone else).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// copyXattrs gives to the extended attributes of the file at from (not
// following a symlink): user notes, ACLs (system.posix_acl_*), SELinux
// labels. A file system without them has none to copy.
func copyXattrs(from string, to *os.File) error {
	size, err := unix.Llistxattr(from, nil)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOENT) || size == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list extended attributes: %w", err)
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(from, buf); err != nil {
		return fmt.Errorf("list extended attributes: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		n, err := unix.Lgetxattr(from, name, nil)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		value := make([]byte, max(n, 0))
		if err == nil {
			n, err = unix.Lgetxattr(from, name, value)
		}
		if err != nil {
			return fmt.Errorf("read extended attribute %s: %w", name, err)
		}
		if err := unix.Fsetxattr(int(to.Fd()), name, value[:n], 0); err != nil {
			return fmt.Errorf("keep extended attribute %s: %w", name, err)
		}
	}
	return nil
}
