//go:build !linux

package hostagent

import (
	"fmt"
	"os"
	"runtime"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// errNotLinux: the agent runs on the daemon's host, which is Linux; a
// client on another system reaches it through a helper container.
var errNotLinux = fmt.Errorf("the host agent runs on Linux only, not on %s: reach the Docker host through a docker context (docker --context NAME userns ...)", runtime.GOOS)

// Spawn refuses: see errNotLinux.
func Spawn(hostfs.Root, string, bool) error { return errNotLinux }

// Main refuses: see errNotLinux.
func Main([]string) int {
	fmt.Fprintln(os.Stderr, errNotLinux)
	return 1
}
