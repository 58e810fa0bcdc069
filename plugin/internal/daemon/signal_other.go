//go:build !linux

package daemon

import (
	"errors"
	"runtime"
)

// terminate: dockerd is restarted by the Linux build only, on its host.
func terminate(int) error {
	return errors.New("restarting dockerd works on Linux only, not on " + runtime.GOOS)
}

func gone(int) bool { return true }
