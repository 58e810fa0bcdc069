package remap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/poll"
)

// LockPath is the host-wide lock of the commands that change the host
// (issue 12 case 8): it is held from reading the files to arming the host
// agent, so that two runs never plan from the same old contents, and no arm
// overwrites a record whose agent is still starting.
const LockPath = "/var/lib/docker-userns/lock"

// lockWait bounds the wait for another run's lock; a run holds it for
// seconds (reading, writing, starting the agent), never across a restart.
var lockWait = 30 * time.Second

// hostLock is a held LockPath; a nil one holds nothing. The lock file and
// the directories made for it go again on Unlock, so that a run that
// changes nothing leaves nothing behind.
type hostLock struct {
	f    *os.File
	root hostfs.Root
	made []string // directories made for the lock, deepest last
}

// beginChange opens enable's and disable's work on the host: it takes the
// host-wide lock (not for a dry run, which writes nothing: lock is nil)
// and then reads the host files once, under it. The caller unlocks, once
// the agent is armed (apply) or when the run ends.
func beginChange(ctx context.Context, env Env, dryRun, discardPending bool) (snap *Snapshot, lock *hostLock, err error) {
	if !dryRun {
		if lock, err = lockHost(ctx, env, discardPending); err != nil {
			return nil, nil, err
		}
	}
	if snap, err = ReadSnapshot(env.Root); err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	return snap, lock, nil
}

// lockHost is the gate before any write: it refuses a daemon that runs on
// another host (sameHost), takes the host-wide lock, then checks the
// agent's record: an unfinished change whose agent runs is refused, and one
// whose agent is gone (its old file contents are in it) is refused unless
// discard, which keeps a copy beside it and removes it.
func lockHost(ctx context.Context, env Env, discard bool) (*hostLock, error) {
	if err := sameHost(ctx, env); err != nil {
		return nil, err
	}
	l := &hostLock{root: env.Root}
	said := false
	err := poll.Until(ctx, lockWait, 50*time.Millisecond, func(context.Context) (bool, error) {
		ok, err := l.try()
		if !ok && err == nil && !said {
			env.say("waiting for another docker userns run on this host (%s)", LockPath)
			said = true
		}
		return ok, err
	})
	if errors.Is(err, poll.ErrTimeout) {
		return nil, fmt.Errorf("lock %s: another docker userns run on this host held it for %s: wait for it to finish", LockPath, lockWait)
	} else if err != nil {
		return nil, fmt.Errorf("lock %s: %w", LockPath, err)
	}
	if said {
		// The run that held the lock may have restarted the daemon.
		daemon.ForgetInfo(env.API)
	}
	if err := checkPending(env, discard); err != nil {
		l.Unlock()
		return nil, err
	}
	return l, nil
}

// try opens (or creates) the lock file inside the root and flocks it
// without blocking. It holds the lock only when the file it locked is
// still the one at LockPath: the holder before may have removed it.
func (l *hostLock) try() (bool, error) {
	if err := l.makeDirs(); err != nil {
		return false, err
	}
	f, err := l.root.OpenFile(LockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL|hostfs.NoFollow, 0o600)
	if errors.Is(err, fs.ErrExist) {
		f, err = l.root.OpenFile(LockPath, os.O_RDWR|hostfs.NoFollow, 0)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // removed meanwhile: try again
	}
	if err != nil {
		return false, err
	}
	if err := hostfs.Flock(f, false); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return false, err
	}
	held, err := f.Stat()
	if err != nil {
		f.Close()
		return false, err
	}
	now, err := l.root.Stat(LockPath)
	if err != nil || !os.SameFile(held, now) {
		f.Close()
		return false, nil
	}
	l.f = f
	return true, nil
}

// makeDirs makes the lock's directory and the missing ones above it
// (searchable, as the daemon's data root needs /var and /var/lib to be),
// remembering which it made.
func (l *hostLock) makeDirs() error {
	var missing []string
	for d := path.Dir(LockPath); d != "/" && !l.root.Exists(d); d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		resolved, err := l.root.Resolve(d)
		if err != nil {
			return err
		}
		perm := os.FileMode(0o755)
		if d == path.Dir(LockPath) {
			perm = 0o700
		}
		if err := os.Mkdir(l.root.Path(resolved), perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err == nil {
			l.made = append(l.made, resolved)
		}
	}
	return nil
}

// Unlock releases the lock; it may be called more than once. The lock file
// is removed while still held, whoever created it (a run killed while it
// held the lock left its file behind: try sees the removal and takes the
// new file), and the directories this run made for it when they are empty.
func (l *hostLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_, _ = l.root.RemoveFile(LockPath, hostfs.WriteOptions{})
	for i := len(l.made) - 1; i >= 0; i-- {
		if os.Remove(l.root.Path(l.made[i])) != nil {
			break
		}
	}
	hostfs.Funlock(l.f)
	l.f.Close()
	l.f = nil
}

// checkPending refuses to start while the agent's record holds an
// unfinished change (hostagent.Admit), and says what it collected or
// discarded.
func checkPending(env Env, discard bool) error {
	note, err := hostagent.Admit(env.Root, discard)
	if note != "" {
		env.say("%s", note)
	}
	return err
}
