//go:build !linux

package hostfs

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
)

// ErrNotLinux is any use of a host's files on a client that is not Linux:
// such a client reaches a host through its daemon (a docker context), as
// a helper container on that host.
var ErrNotLinux = errors.New("acting on this machine's files works on Linux only: on " + runtime.GOOS + ", reach the Docker host through a docker context (docker --context NAME userns ...)")

// NoFollow stands in for O_NOFOLLOW: nothing is opened here.
const NoFollow = 0

// Flock refuses: see ErrNotLinux.
func Flock(*os.File, bool) error { return ErrNotLinux }

// Funlock does nothing.
func Funlock(*os.File) {}

func supported() error { return ErrNotLinux }

// Stand-ins of the Linux open flags: nothing is opened here.
const (
	oPath      = 0
	oDirectory = 0
	oNonBlock  = 0
)

var errNoOpenat2 = errors.New("openat2 is not available")

// sysCalls are the system calls tests replace (none off Linux).
type sysCalls struct{}

func openInRoot(root, rel string, _ int, _ fs.FileMode, _ *sysCalls) (uintptr, error) {
	return 0, &fs.PathError{Op: "open", Path: root + "/" + rel, Err: ErrNotLinux}
}

func linkCount(fs.FileInfo) (uint64, bool)      { return 0, false }
func owner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
func alive(int) bool                            { return false }
func copyXattrs(string, *os.File) error         { return ErrNotLinux }
