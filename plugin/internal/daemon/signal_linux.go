package daemon

import (
	"errors"
	"syscall"
)

// terminate sends SIGTERM to pid.
func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// gone tells whether pid no longer exists.
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
