package target

import "golang.org/x/sys/unix"

// Hostname is this machine's name as a daemon on it gives it (uname's
// nodename, which dockerd reports as Name).
func Hostname() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Nodename[:])
}
