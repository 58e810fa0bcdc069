package sshreach

import (
	"io/fs"
	"os"
)

// ownerOf: Windows has no owner uid; the folder is under the user's own
// temporary folder (os.TempDir is per user there), so it counts as this
// user's (os.Getuid is -1 on Windows).
func ownerOf(fs.FileInfo) (int, bool) { return os.Getuid(), true }
