package helper

import (
	"net"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DaemonIsLocal tells whether the daemon at host (a DOCKER_HOST value) runs
// on this machine, sharing its root file system: only then can a command
// edit the daemon's files directly. A unix socket is asked who listens on
// it (SO_PEERCRED); a daemon in another container or machine, or behind
// ssh or tcp, is not local.
func DaemonIsLocal(host string) bool {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		return false
	}
	conn, err := net.DialTimeout("unix", u.Path, 2*time.Second)
	if err != nil {
		// Nobody answers: the local files are all there is to act on.
		return true
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return true
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return true
	}
	if cred.Pid == 0 {
		// The daemon's process is outside our PID namespace.
		return false
	}
	return sameFile("/proc/"+strconv.Itoa(int(cred.Pid))+"/root", "/")
}

// sameFile compares two paths by device and inode; unknown counts as same.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return true
	}
	x, okA := sa.Sys().(*syscall.Stat_t)
	y, okB := sb.Sys().(*syscall.Stat_t)
	return !okA || !okB || (x.Dev == y.Dev && x.Ino == y.Ino)
}
