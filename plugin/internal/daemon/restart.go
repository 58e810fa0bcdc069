package daemon

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/poll"
)

// Strategy names how the daemon is restarted.
type Strategy string

const (
	// StrategyAuto picks systemd when it runs the daemon, else signal.
	StrategyAuto Strategy = "auto"
	// StrategySystemd restarts docker.service as a systemd job and reads
	// its result (D-Bus), resetting the unit's failed state first.
	StrategySystemd Strategy = "systemd"
	// StrategySignal terminates the pid in the daemon's pidfile and leaves
	// the restart to whatever supervises dockerd.
	StrategySignal Strategy = "signal"
	// StrategyNone changes the files only; the operator restarts.
	StrategyNone Strategy = "none"
)

// Strategies lists the accepted --restart values, for help and errors.
var Strategies = []Strategy{StrategyAuto, StrategySystemd, StrategySignal, StrategyNone}

// ParseStrategy checks a --restart value.
func ParseStrategy(s string) (Strategy, error) {
	for _, known := range Strategies {
		if Strategy(s) == known {
			return known, nil
		}
	}
	return "", fmt.Errorf("invalid --restart %q: want one of auto, systemd, signal, none", s)
}

// DefaultPidfile is where dockerd writes its pid unless told otherwise.
const DefaultPidfile = "/var/run/docker.pid"

// Restarter stops the daemon so that it comes back with the new config.
// Waiting for it to answer again is the caller's job (WaitReady).
type Restarter struct {
	Strategy Strategy
	// Root is the host root the pidfile, /proc and /run are read under
	// (inside it). Under a tree (Root.Tree) nothing is signalled or
	// restarted: auto is none, and Manager looks for nothing.
	Root hostfs.Root
	// Pidfile is the daemon's pidfile path on the host.
	Pidfile string
	// StartTimeout bounds a systemd restart job (0: DefaultStartTimeout):
	// docker.service has TimeoutStartSec=0, so systemd waits forever for a
	// dockerd that hangs before it says it is ready.
	StartTimeout time.Duration
}

// DefaultStartTimeout bounds a systemd restart job when no timeout is set.
const DefaultStartTimeout = 60 * time.Second

// Unit is the docker.service of the host under Root.
func (r Restarter) Unit() Unit { return Unit{Root: r.Root.Dir(), Name: DockerUnit} }

// Resolve turns auto into the concrete strategy for this host; under a
// tree every strategy is none.
func (r Restarter) Resolve() Strategy {
	if r.Root.Tree() {
		return StrategyNone
	}
	if r.Strategy != StrategyAuto {
		return r.Strategy
	}
	if r.systemdRunsDocker() {
		return StrategySystemd
	}
	return StrategySignal
}

// Describe says in words what Restart will do, for --dry-run and logs.
func (r Restarter) Describe() string {
	switch r.Resolve() {
	case StrategySystemd:
		return "restart docker.service through systemd (reset-failed, then a restart job whose result is read)"
	case StrategySignal:
		return fmt.Sprintf("terminate the dockerd in %s and wait for its supervisor to start it again", r.Pidfile)
	default:
		if r.Root.Tree() {
			return fmt.Sprintf("no restart: %s is a tree, not this machine's root; start or restart its daemon where it runs", r.Root.Dir())
		}
		return "no restart (--restart none): restart the daemon yourself to apply the change"
	}
}

// Restart stops (and, under systemd, starts) the daemon. With signal it
// returns once the old process is gone, and the new one may still be
// starting; under systemd once the restart job ended: done means the new
// dockerd told systemd it is ready (Type=notify), a failed job or one that
// outlasts StartTimeout (ErrStartHangs) is an error.
func (r Restarter) Restart(ctx context.Context) error {
	switch r.Resolve() {
	case StrategySystemd:
		within := r.StartTimeout
		if within <= 0 {
			within = DefaultStartTimeout
		}
		return r.Unit().Restart(ctx, within)
	case StrategySignal:
		return r.terminate(ctx)
	default:
		return nil
	}
}

// readProc reads /proc/PID/NAME of the host, inside the root.
func (r Restarter) readProc(pid int, name string) ([]byte, error) {
	return r.Root.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
}

// systemdRunsDocker is true on a host booted with systemd whose docker unit
// runs the daemon: systemd says so (its private socket is under the root,
// also a helper container's /host), or else the daemon's own cgroup does.
func (r Restarter) systemdRunsDocker() bool {
	if r.Root.Tree() || !SystemdBooted(r.Root.Dir()) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := r.Unit().State(ctx); err == nil {
		return st.Loaded() && st.ActiveState != "inactive"
	}
	pid, err := r.DaemonPID()
	if err != nil {
		return false
	}
	cgroup, err := r.readProc(pid, "cgroup")
	return err == nil && strings.Contains(string(cgroup), "/docker.service")
}

// DaemonPID reads the daemon's pid from its pidfile, inside the root
// (/var/run is a link to /run) and without blocking on a FIFO. A tree's
// pidfile is not read: its pid is not of this machine.
func (r Restarter) DaemonPID() (int, error) {
	if r.Root.Tree() {
		return 0, fmt.Errorf("read daemon pidfile: %s is a tree: its pids are not this machine's", r.Root.Dir())
	}
	data, err := r.Root.ReadFile(r.Pidfile)
	if err != nil {
		return 0, fmt.Errorf("read daemon pidfile: %w", err)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("read daemon pidfile %s: %q is not a pid", r.Pidfile, bytes.TrimSpace(data))
	}
	return pid, nil
}

// Running is true when the pidfile names a live dockerd.
func (r Restarter) Running() bool {
	pid, err := r.DaemonPID()
	if err != nil {
		return false
	}
	comm, err := r.readProc(pid, "comm")
	return err == nil && strings.TrimSpace(string(comm)) == "dockerd" && !r.isZombie(pid)
}

// terminate sends SIGTERM to dockerd and waits until that process is gone.
func (r Restarter) terminate(ctx context.Context) error {
	pid, err := r.DaemonPID()
	if err != nil {
		return err
	}
	comm, err := r.readProc(pid, "comm")
	if err != nil {
		return fmt.Errorf("daemon pid %d from %s is not running: %w", pid, r.Pidfile, err)
	}
	if name := strings.TrimSpace(string(comm)); name != "dockerd" {
		return fmt.Errorf("pid %d from %s is %q, not dockerd: refusing to signal it", pid, r.Pidfile, name)
	}
	if err := terminate(pid); err != nil {
		return fmt.Errorf("terminate dockerd (pid %d): %w", pid, err)
	}
	// No deadline of its own: the caller's ctx bounds the wait.
	err = poll.Until(ctx, 0, pollInterval, func(context.Context) (bool, error) {
		return gone(pid) || r.isZombie(pid), nil
	})
	if err != nil {
		return fmt.Errorf("dockerd (pid %d) did not exit after SIGTERM: %w", pid, err)
	}
	return nil
}

// isZombie is true for a process that has exited but not been reaped yet:
// it is gone for our purpose.
func (r Restarter) isZombie(pid int) bool {
	data, err := r.readProc(pid, "stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] == 'Z'
}
