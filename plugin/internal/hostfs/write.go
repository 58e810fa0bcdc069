package hostfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BackupSuffix names the backup of a file's content before a change.
const BackupSuffix = ".docker-userns.bak"

// WriteOptions control WriteFile and RemoveFile.
type WriteOptions struct {
	// Perm is the mode of a file that does not exist yet (0644 when zero);
	// an existing file keeps its mode and owner.
	Perm fs.FileMode
	// Backup keeps the content just before the write as FILE.docker-userns.bak.
	// An existing backup is replaced, unless KeepBackup says it still holds
	// what a write of this content should be undone to.
	Backup bool
	// KeepBackup, when set, is called under the lock with the current
	// content and an existing backup's; true keeps that backup (it holds the
	// content before an earlier write whose result is still there).
	KeepBackup func(old, backup []byte) bool
	// Lock takes shadow's FILE.lock for the duration of the write.
	Lock bool
	// LockTimeout is how long to wait for a held lock (DefaultLockTimeout when zero).
	LockTimeout time.Duration
	// MakeDirs creates missing parent directories (0755).
	MakeDirs bool
	// Check, when set, is called under the lock with the current content and
	// can refuse the write (for example: the file changed since it was planned).
	Check func(old []byte, exists bool) error
	// link hard-links a backup (os.Link when nil); tests give one that
	// fails to exercise the copy fallback.
	link func(oldname, newname string) error
}

// WriteResult says what WriteFile or RemoveFile did.
type WriteResult struct {
	// Path is the host path of the file written, after following symlinks.
	Path string
	// Changed is false when the content was already what was asked.
	Changed bool
	// Created is true when the file did not exist before.
	Created bool
	// BackupPath is the host path of the backup ("" when no backup was
	// asked or the file was new).
	BackupPath string
	// BackupCreated is true when this call made the backup (it holds the
	// content just before this write), false when KeepBackup kept an older one.
	BackupCreated bool
}

// Edit is what EditFile does to a file once it holds the lock and has read
// it: write Content, or Remove the file, or rename the backup at host path
// RestoreFrom into place, or, with Keep, nothing.
type Edit struct {
	Content     []byte
	Remove      bool
	RestoreFrom string
	Keep        bool
}

// WriteFile replaces host file p with content, atomically: a temp file in the
// same directory is written, fsynced, given the old file's mode and owner and
// renamed over the target, then the directory is fsynced. A symlinked p is
// written through to its target (inside the root). Nothing is written when
// the content is already equal. A process killed at any point leaves the old
// or the new file, never a partial one.
func (r Root) WriteFile(p string, content []byte, opts WriteOptions) (WriteResult, error) {
	return r.EditFile(p, opts, func([]byte, bool) (Edit, error) { return Edit{Content: content}, nil })
}

// RemoveFile removes host file p (through a symlink: the target goes, the
// link stays), with the same lock and backup as WriteFile. A missing file is
// not an error: Changed is false.
func (r Root) RemoveFile(p string, opts WriteOptions) (WriteResult, error) {
	return r.EditFile(p, opts, func([]byte, bool) (Edit, error) { return Edit{Remove: true}, nil })
}

// Restore puts backup (a host path made by WriteFile) back in place of p by
// renaming it: the original inode, content, mode and owner return exactly,
// and the backup is gone afterwards. It takes p's lock when lock is true.
func (r Root) Restore(p, backup string, lock bool) error {
	_, err := r.EditFile(p, WriteOptions{Lock: lock}, func([]byte, bool) (Edit, error) { return Edit{RestoreFrom: backup}, nil })
	return err
}

// EditFile changes host file p as edit says, given its current content
// (exists is false for a missing file), all under p's lock when opts.Lock:
// what a file becomes can depend on what it holds at that moment, which no
// one else changes meanwhile. Writes are atomic as WriteFile's.
func (r Root) EditFile(p string, opts WriteOptions, edit func(old []byte, exists bool) (Edit, error)) (WriteResult, error) {
	hp := clean(p)
	target, err := r.Resolve(hp)
	if err != nil {
		return WriteResult{}, err
	}
	res := WriteResult{Path: target}
	if opts.MakeDirs {
		// The target's directories, resolved inside the root: a link out
		// of the root on the way is followed there, not on this machine.
		if err := os.MkdirAll(r.Path(path.Dir(target)), 0o755); err != nil {
			return res, fmt.Errorf("write %s: %w", target, cause(err))
		}
	}
	// Every name below is made in the target's directory held open.
	dir, release := r.pinDir(path.Dir(target))
	defer release()
	real := filepath.Join(dir, path.Base(target))
	if opts.Lock {
		unlock, err := r.Lock(hp, lockTimeout(opts))
		if err != nil {
			return res, err
		}
		defer unlock()
	}
	old, st, err := readExisting(real)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", target, err)
	}
	exists := st != nil
	if opts.Check != nil {
		if err := opts.Check(old, exists); err != nil {
			return res, err
		}
	}
	e, err := edit(old, exists)
	switch {
	case err != nil:
		return res, err
	case e.Keep, e.Remove && !exists, !e.Remove && e.RestoreFrom == "" && exists && bytes.Equal(old, e.Content):
		return res, nil
	}
	if exists && opts.Backup {
		created, err := backup(real, old, st, opts)
		if err != nil {
			return res, fmt.Errorf("back up %s: %w", target, err)
		}
		res.BackupPath, res.BackupCreated = target+BackupSuffix, created
	}
	switch {
	case e.Remove:
		if err := os.Remove(real); err != nil {
			return res, fmt.Errorf("remove %s: %w", target, cause(err))
		}
		if err := syncDir(filepath.Dir(real)); err != nil {
			return res, fmt.Errorf("remove %s: %w", target, err)
		}
	case e.RestoreFrom != "":
		from := r.Path(e.RestoreFrom)
		if path.Dir(clean(e.RestoreFrom)) == path.Dir(target) {
			from = filepath.Join(dir, path.Base(e.RestoreFrom))
		}
		if err := os.Rename(from, real); err != nil {
			return res, fmt.Errorf("restore %s from %s: %w", target, clean(e.RestoreFrom), cause(err))
		}
		if err := syncDir(filepath.Dir(real)); err != nil {
			return res, fmt.Errorf("restore %s: %w", target, err)
		}
	default:
		perm := opts.Perm
		if perm == 0 {
			perm = 0o644
		}
		if err := replace(real, e.Content, st, perm, real); err != nil {
			return res, fmt.Errorf("write %s: %w", target, err)
		}
		res.Created = !exists
	}
	res.Changed = true
	return res, nil
}

func lockTimeout(opts WriteOptions) time.Duration {
	if opts.LockTimeout > 0 {
		return opts.LockTimeout
	}
	return DefaultLockTimeout
}

// readExisting returns the content and stat of a regular file, or nil, nil
// when it does not exist. real is resolved already: a symlink there now is
// not followed.
func readExisting(real string) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(real, os.O_RDONLY|NoFollow|oNonBlock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, errors.New("not a regular file")
	}
	if err != nil {
		return nil, nil, cause(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, cause(err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, cause(err)
	}
	return data, st, nil
}

// backup keeps the content just before a change next to the file: a hard
// link to the old inode (free, and exactly that content), or an atomic copy
// where links are not possible. An existing backup is replaced atomically,
// unless keep says it still holds what the file must go back to.
func backup(real string, old []byte, st fs.FileInfo, opts WriteOptions) (bool, error) {
	bak, keep := real+BackupSuffix, opts.KeepBackup
	if bst, err := os.Lstat(bak); err == nil {
		if keep != nil && bst.Mode().IsRegular() {
			if data, _, err := readExisting(bak); err == nil && data != nil && keep(old, data) {
				return false, nil
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, cause(err)
	}
	tmp, err := linkTemp(real, opts.link)
	if err != nil {
		if err := replace(bak, old, st, st.Mode().Perm(), real); err != nil {
			return false, err
		}
		return true, nil
	}
	// rename(2) does nothing when both names are links of one inode (a run
	// killed after its backup, before its write): the temp name stays.
	err = os.Rename(tmp, bak)
	os.Remove(tmp)
	if err != nil {
		return false, cause(err)
	}
	if err := syncDir(filepath.Dir(real)); err != nil {
		return false, err
	}
	return true, nil
}

// linkTemp hard-links real to a new temp name beside it, with link
// (os.Link when nil).
func linkTemp(real string, link func(oldname, newname string) error) (string, error) {
	if link == nil {
		link = os.Link
	}
	for range 10 {
		tmp := fmt.Sprintf("%s.%d%d", tempPrefix(real), os.Getpid(), time.Now().UnixNano()%1_000_000_000)
		err := link(real, tmp)
		if err == nil {
			return tmp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fs.ErrExist
}

// tempPattern names the temp files replace makes beside a file.
func tempPattern(real string) string { return tempPrefix(real) + "*" }

// tempPrefix is the start of every temp name made beside a file.
func tempPrefix(real string) string {
	dir, base := filepath.Split(real)
	return filepath.Join(dir, "."+base+".tmp")
}

// removeStaleLockFiles removes the FILE.<pid> files of lock attempts
// killed before they cleaned up (ours or shadow's), and nothing else: a
// file is one only when it is a regular file of a few bytes holding the
// pid its name gives, and that pid is dead. An operator's FILE.20240101
// copy stays. Temp files of a killed writer stay too: nothing tells them
// apart from an operator's file of a similar name.
func removeStaleLockFiles(real string) {
	dir, base := filepath.Split(real)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		pid, err := strconv.Atoi(digits)
		if err != nil || pid <= 0 || pid == os.Getpid() || alive(pid) {
			continue
		}
		if m := filepath.Join(dir, e.Name()); isLockPidFile(m, pid) {
			os.Remove(m)
		}
	}
}

// replace writes content to a temp file beside real and renames it over.
// With st set the new file gets st's mode and owner, else perm.
// With st set, the extended attributes of attrsFrom (ACLs among them) are
// kept too; one that cannot be kept fails the write.
func replace(real string, content []byte, st fs.FileInfo, perm fs.FileMode, attrsFrom string) (err error) {
	dir := filepath.Dir(real)
	f, err := os.CreateTemp(dir, filepath.Base(tempPattern(real)))
	if err != nil {
		return cause(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(content); err != nil {
		return cause(err)
	}
	mode := perm
	if st != nil {
		mode = st.Mode().Perm() | st.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
	}
	if err = f.Chmod(mode); err != nil {
		return cause(err)
	}
	if st != nil {
		if uid, gid, ok := owner(st); ok && (uid != os.Geteuid() || gid != os.Getegid()) {
			if err = f.Chown(uid, gid); err != nil {
				return cause(err)
			}
		}
		if err = copyXattrs(attrsFrom, f); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return cause(err)
	}
	if err = f.Close(); err != nil {
		return cause(err)
	}
	if err = os.Rename(tmp, real); err != nil {
		return cause(err)
	}
	return syncDir(dir)
}

// syncDir makes a rename or unlink in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return cause(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return cause(err)
	}
	return nil
}
