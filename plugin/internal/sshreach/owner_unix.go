//go:build unix

package sshreach

import (
	"io/fs"
	"syscall"
)

// ownerOf is the file's owner uid (false when the file system says none).
func ownerOf(info fs.FileInfo) (int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}
