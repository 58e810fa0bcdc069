package helper

import (
	"context"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostident"
)

// DaemonIsLocal tells whether the daemon at host (a DOCKER_HOST value) runs
// on this machine, sharing its root file system: only then can a command
// edit the daemon's files directly. A unix socket is asked who listens on
// it (SO_PEERCRED); a daemon in another container or machine, or behind
// ssh or tcp, is not local. A listener on this machine may be a forwarder
// (ssh -L, socat) to another machine's daemon: the daemon's identity must
// match this machine (hostident.Check).
func DaemonIsLocal(host string) bool {
	return daemonIsLocal(host, thisMachine{root: localRoot(), isDockerd: isDockerd})
}

// thisMachine is what DaemonIsLocal compares a daemon with: this machine's
// root, and how its dockerd process is told (tests stand in for both).
type thisMachine struct {
	root      hostfs.Root
	isDockerd func(pid int) bool
}

func daemonIsLocal(host string, here thisMachine) bool {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		return false
	}
	local, pid := peerIsLocal(u.Path)
	if !local {
		return false
	}
	if pid > 0 && here.isDockerd(pid) {
		// dockerd itself listens, in this machine's root: no forwarder
		// between. Asking its identity would cost an Info, which costs the
		// daemon two forks (runc and docker-init --version).
		return true
	}
	id, err := hostident.AtSocket(context.Background(), u.Path, 5*time.Second)
	if err != nil {
		// A listener that does not answer as a daemon: nothing says it is
		// elsewhere.
		return true
	}
	return hostident.Check(here.root, id, hostident.Hostname()) == nil
}

// localRoot is this machine's root.
func localRoot() hostfs.Root { r, _ := hostfs.Open("/"); return r }

// standardSockets are where this machine's own daemon listens: a socket
// there with nobody behind it is this machine's daemon, down.
var standardSockets = []string{"/var/run/docker.sock", "/run/docker.sock"}

// peerIsLocal asks who listens on a unix socket: a process sharing this
// machine's root, and its pid when known. With nobody listening, only the
// standard socket counts as this machine's (its daemon down); any other
// path may be a forwarder that is gone.
func peerIsLocal(socket string) (local bool, pid int) {
	conn, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return slices.Contains(standardSockets, path.Clean(socket)), 0
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return true, 0
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return true, 0
	}
	if cred.Pid == 0 {
		// The daemon's process is outside our PID namespace.
		return false, 0
	}
	return sameFile("/proc/"+strconv.Itoa(int(cred.Pid))+"/root", "/"), int(cred.Pid)
}

// isDockerd tells whether the process pid runs a dockerd binary. Under
// systemd's socket activation the listener is systemd's (pid 1), and the
// daemon's identity is asked instead.
func isDockerd(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && path.Base(exe) == "dockerd"
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
