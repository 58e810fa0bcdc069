package hostfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/poll"
)

// ErrLocked is returned (wrapped) when another live process holds a file's lock.
var ErrLocked = errors.New("locked by another process")

// DefaultLockTimeout is how long Lock waits for a held lock; shadow's tools
// give up after about 15 tries a second apart.
const DefaultLockTimeout = 15 * time.Second

// Lock takes the lock that shadow's tools (useradd, usermod, vipw) take on
// host file p: it writes its pid into "p.<pid>" and hard-links that to
// "p.lock"; link() is atomic, so only one process wins. A lock whose pid is
// dead is stale and is broken. The returned func releases the lock.
func (r Root) Lock(p string, timeout time.Duration) (func() error, error) {
	hp := clean(p)
	// The lock goes beside p as shadow puts it (beside a symlink, not its
	// target), in p's directory resolved inside the root.
	dir, err := r.Resolve(path.Dir(hp))
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", hp, err)
	}
	pinned, release := r.pinDir(dir)
	real := filepath.Join(pinned, path.Base(hp))
	lock := real + ".lock"
	// Writes take no context (one is never left half done): the wait is
	// bounded by timeout alone.
	_ = poll.Until(context.Background(), timeout, 100*time.Millisecond, func(context.Context) (bool, error) {
		err = tryLock(real, lock)
		return !errors.Is(err, ErrLocked), nil
	})
	if err != nil {
		release()
		return nil, fmt.Errorf("lock %s: %w", hp, err)
	}
	// Under the lock, a dead lock attempt's pid file is a leftover.
	removeStaleLockFiles(real)
	return func() error {
		defer release()
		if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("unlock %s: %w", hp, cause(err))
		}
		return nil
	}, nil
}

// tryLock makes one attempt, following shadow's commonio do_lock_file.
func tryLock(file, lock string) error {
	pid := os.Getpid()
	tmp := file + "." + strconv.Itoa(pid)
	// shadow writes the pid followed by its NUL terminator. The name is
	// created, never opened through a symlink or over another file.
	err := createSynced(tmp, append([]byte(strconv.Itoa(pid)), 0), 0o600)
	if errors.Is(err, fs.ErrExist) && isLockPidFile(tmp, pid) {
		// Left by an earlier process that had our pid.
		os.Remove(tmp)
		err = createSynced(tmp, append([]byte(strconv.Itoa(pid)), 0), 0o600)
	}
	if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("%s exists and is not a lock file of ours: move it away", filepath.Base(tmp))
	}
	if err != nil {
		return cause(err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, lock); err == nil {
		return checkLinkCount(tmp)
	} else if !errors.Is(err, fs.ErrExist) {
		return cause(err)
	}
	data, _, err := readExisting(lock)
	if err == nil && data == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (lock released meanwhile)", ErrLocked)
		}
		return cause(err)
	}
	holder, ok := parsePid(data)
	if !ok {
		return fmt.Errorf("%s.lock holds no valid pid (%q): remove it if no user tool is running", lockBase(file), bytes.TrimRight(data, "\x00\n"))
	}
	if alive(holder) {
		return fmt.Errorf("%w: pid %d holds %s.lock", ErrLocked, holder, lockBase(file))
	}
	// Stale: the holder died without unlinking. Break it and retry once.
	if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return cause(err)
	}
	if err := os.Link(tmp, lock); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w (taken meanwhile)", ErrLocked)
		}
		return cause(err)
	}
	return checkLinkCount(tmp)
}

func lockBase(file string) string { return filepath.Base(file) }

// checkLinkCount confirms the link really happened (NFS may lie), as shadow does.
func checkLinkCount(tmp string) error {
	st, err := os.Stat(tmp)
	if err != nil {
		return cause(err)
	}
	if n, ok := linkCount(st); ok && n != 2 {
		return fmt.Errorf("%w: lock link count is %d, not 2", ErrLocked, n)
	}
	return nil
}

func parsePid(data []byte) (int, bool) {
	s := string(bytes.TrimSpace(bytes.TrimRight(data, "\x00")))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// maxLockPidFile bounds the size of a lock pid file: ten digits and a NUL
// or newline.
const maxLockPidFile = 12

// isLockPidFile reports whether name is a lock attempt's pid file for pid:
// a regular file (not a symlink) of a few bytes holding that pid, or
// nothing (its writer was killed before writing).
func isLockPidFile(name string, pid int) bool {
	st, err := os.Lstat(name)
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxLockPidFile {
		return false
	}
	f, err := os.OpenFile(name, os.O_RDONLY|NoFollow, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	data := make([]byte, maxLockPidFile+1)
	n, _ := f.Read(data)
	if n == 0 {
		return true
	}
	got, ok := parsePid(data[:n])
	return ok && n <= maxLockPidFile && got == pid
}

// createSynced creates name, which must not exist yet (no symlink is
// followed), with data and fsyncs it.
func createSynced(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|NoFollow, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	return f.Close()
}
