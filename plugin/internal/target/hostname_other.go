//go:build !linux

package target

import "os"

// Hostname is this machine's name (never compared with a daemon's here:
// a client that is not Linux is never the daemon's host).
func Hostname() string {
	name, _ := os.Hostname()
	return name
}
