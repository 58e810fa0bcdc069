// Package procstart tells a process apart from a later one that got its
// pid: by its start time, shared by the harness's sweep and the plugin's.
package procstart

import (
	"fmt"
	"os"
	"strings"
)

// Of is field 22 of /proc/PID/stat, the process's start time in clock
// ticks after boot; "" when the process is gone.
func Of(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return ""
	}
	f := strings.Fields(rest)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
