//go:build unix

package livecheck

import (
	"fmt"
	"os"
	"syscall"
)

// owner is the owning uid and gid of path (not following a symlink).
func owner(path string) (uid, gid uint32, err error) {
	st, err := os.Lstat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("stat %s: no owner on this system", path)
	}
	return sys.Uid, sys.Gid, nil
}
