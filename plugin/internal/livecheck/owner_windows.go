package livecheck

import "fmt"

// owner: Windows files have no uid and gid; the checks that read owners
// run on the daemon's host (livecheck.Env.HostRoot), never here.
func owner(path string) (uid, gid uint32, err error) {
	return 0, 0, fmt.Errorf("stat %s: no owner on this system", path)
}
