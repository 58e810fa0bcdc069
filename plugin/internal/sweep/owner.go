package sweep

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/docker-userns/docker-userns/internal/procstart"
)

// LabelOwner names the client process that made an object, as
// "BOOT/PIDNS/PID/START": this machine's boot id, the client's pid
// namespace, its pid and its start time (field 22 of /proc/PID/stat, clock
// ticks after boot, so a reused pid is not taken for the owner). The sweep
// asks it whether the client still runs: only a sweep on the same boot and
// in the same pid namespace can tell (harness/cleanup.go's owner, which
// names the host instead, has only test processes of this machine to tell
// apart; a plugin's helper container shares the boot id with its host).
const LabelOwner = "org.docker-userns.owner"

// ownerOf is this process's LabelOwner value, "" when /proc cannot say.
var ownerOf = sync.OnceValue(func() string { return processOwner(os.Getpid()) })

// processOwner is the LabelOwner value of the process pid of this boot and
// pid namespace, "" when /proc cannot say.
func processOwner(pid int) string {
	boot, ns, start := bootID(), pidNamespace(), procstart.Of(pid)
	if boot == "" || ns == "" || start == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/%d/%s", boot, ns, pid, start)
}

// ownerState is what the sweep knows of an object's owner.
type ownerState int

const (
	ownerUnknown ownerState = iota // no label, another machine, boot or pid namespace
	ownerAlive
	ownerGone
)

// stateOf tells whether the owner an object's label names still runs.
func stateOf(label string) ownerState {
	parts := strings.Split(label, "/")
	if len(parts) != 4 || parts[0] != bootID() || parts[1] != pidNamespace() {
		return ownerUnknown
	}
	pid, err := strconv.Atoi(parts[2])
	if err != nil || pid <= 0 || parts[3] == "" {
		return ownerUnknown
	}
	if procstart.Of(pid) == parts[3] {
		return ownerAlive
	}
	return ownerGone
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pidNamespace is this process's pid namespace, its inode ("4026531836").
func pidNamespace() string {
	link, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(link, "pid:["), "]")
}
