// Package hostfs looks up every host path under one root directory ("/" on a
// real host, a temporary tree in tests) and writes host files safely: locked
// like shadow's tools, atomically renamed, backed up before the first change.
package hostfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Root is the directory that stands for "/" of the host.
type Root struct {
	dir string
	// tree: the root is a tree given by the user (OpenTree), not a
	// running system this machine can see.
	tree bool
	// sys are the system calls a test replaces (nil: the real ones).
	sys *sysCalls
}

// maxSymlinks bounds symlink resolution like the kernel's ELOOP limit.
const maxSymlinks = 40

// Open returns the Root for dir, which must be an existing directory.
func Open(dir string) (Root, error) {
	if err := supported(); err != nil {
		return Root{}, err
	}
	if dir == "" {
		dir = "/"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Root{}, fmt.Errorf("root %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Root{}, fmt.Errorf("root %s: no such directory", dir)
		}
		return Root{}, fmt.Errorf("root %s: %w", dir, cause(err))
	}
	if !st.IsDir() {
		return Root{}, fmt.Errorf("root %s: not a directory", dir)
	}
	return Root{dir: abs}, nil
}

// OpenTree is Open for a tree given by the user (--root: an image being
// built, a chroot), which is not a running system of this machine even
// when its /proc or /run are bind-mounted from it: nothing of the tree is
// run, no process is signalled and no socket in it is dialled (see Tree).
func OpenTree(dir string) (Root, error) {
	r, err := Open(dir)
	r.tree = err == nil && !r.IsHost()
	return r, err
}

// Tree reports whether the root is a tree given by the user (OpenTree):
// its files are read and written, and nothing else of it is touched.
func (r Root) Tree() bool { return r.tree }

// Dir is the root directory on the real file system.
func (r Root) Dir() string {
	if r.dir == "" {
		return "/"
	}
	return r.dir
}

// IsHost reports whether the root is the real "/" (tools that cannot work on
// a prefix, such as systemctl, only make sense then).
func (r Root) IsHost() bool { return r.Dir() == "/" }

// Path maps a host path (absolute, as on the host) to the real path under the
// root. Relative paths are taken from "/". ".." never climbs above the root.
func (r Root) Path(p string) string {
	return filepath.Join(r.Dir(), clean(p))
}

// clean makes p absolute and lexically clean, so that ".." stops at "/".
func clean(p string) string {
	return path.Clean("/" + p)
}

// ReadFile reads the host file p, with every symlink and ".." on the way
// resolved inside the root (see OpenFile). A missing file gives an error
// for which errors.Is(err, fs.ErrNotExist) holds.
func (r Root) ReadFile(p string) ([]byte, error) {
	f, err := r.OpenFile(p, os.O_RDONLY|oNonBlock, 0) // a FIFO planted in the root must not hang us
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", clean(p), cause(err))
	}
	defer f.Close()
	// A FIFO opened without blocking reads as empty: say what it is.
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file (%s)", clean(p), st.Mode().Type())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", clean(p), cause(err))
	}
	return data, nil
}

// OpenFile opens host path p as the host would, with "/" at the root: every
// symlink, absolute or relative, and every ".." resolve inside the root,
// never to a file of this machine outside it (openat2 with
// RESOLVE_IN_ROOT; on a kernel without it, Resolve and no symlink followed
// at the end).
func (r Root) OpenFile(p string, flags int, perm fs.FileMode) (*os.File, error) {
	rel := strings.TrimPrefix(clean(p), "/")
	if rel == "" {
		rel = "."
	}
	f, err := openInRoot(r.Dir(), rel, flags, perm, r.sys)
	if errors.Is(err, errNoOpenat2) {
		return r.openResolved(p, flags, perm)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(f, r.Path(p)), nil
}

// pinDir returns a real path for host directory dir (resolved already)
// that stays that very directory while it is held: /proc/self/fd/N of the
// directory opened inside the root, so that names made in it later cannot
// land elsewhere if a link on the way is swapped meanwhile. release closes
// it. Without /proc, or for a directory that does not exist, it is the
// plain path under the root.
func (r Root) pinDir(dir string) (real string, release func()) {
	f, err := r.OpenFile(dir, oPath|oDirectory, 0)
	if err != nil {
		return r.Path(dir), func() {}
	}
	pinned := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if st, err := os.Stat(pinned); err != nil || !st.IsDir() {
		f.Close()
		return r.Path(dir), func() {}
	}
	return pinned, func() { f.Close() }
}

// openResolved is OpenFile for kernels before 5.6.
func (r Root) openResolved(p string, flags int, perm fs.FileMode) (*os.File, error) {
	t, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	return os.OpenFile(r.Path(t), flags|NoFollow, perm)
}

// Stat stats the host path p, following symlinks inside the root.
func (r Root) Stat(p string) (fs.FileInfo, error) {
	f, err := r.OpenFile(p, oPath, 0)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", clean(p), cause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", clean(p), cause(err))
	}
	return st, nil
}

// Exists reports whether host path p exists (following symlinks in the root).
func (r Root) Exists(p string) bool {
	_, err := r.Stat(p)
	return err == nil
}

// Glob returns the host paths matching a host pattern, sorted. Only the
// last element may hold wildcards; the directory is resolved inside the
// root, and the paths returned are in the pattern's directory.
func (r Root) Glob(pattern string) ([]string, error) {
	dir, base := path.Split(clean(pattern))
	if hasMeta(dir) {
		return nil, fmt.Errorf("glob %s: wildcards only in the last element", pattern)
	}
	resolved, err := r.Resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	matches, err := filepath.Glob(filepath.Join(r.Path(resolved), base))
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, path.Join(dir, filepath.Base(m)))
	}
	return out, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// Resolve follows symlinks in host path p the way the host would, but with
// absolute link targets taken inside the root and ".." stopping at the root.
// It returns the host path of the final target; a missing last component (a
// file to be created) is fine, a missing directory above it is not an error
// either (the write will report it).
func (r Root) Resolve(p string) (string, error) {
	todo := strings.Split(strings.TrimPrefix(clean(p), "/"), "/")
	done := "/"
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, c)
		st, err := os.Lstat(r.Path(next))
		if err != nil {
			// Nothing to follow beyond a missing component.
			return path.Join(append([]string{next}, todo...)...), nil
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		hops++
		if hops > maxSymlinks {
			return "", fmt.Errorf("resolve %s: too many levels of symbolic links", clean(p))
		}
		target, err := os.Readlink(r.Path(next))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", clean(p), cause(err))
		}
		if strings.HasPrefix(target, "/") {
			done = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return done, nil
}

// cause strips the *fs.PathError / *os.LinkError wrapper so that messages
// name the host path once, not the real path under the root.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// IsPermission reports whether err comes from a read-only file system or
// missing permission, the errors an operator fixes with sudo or a remount.
func IsPermission(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EPERM)
}
