package hostagent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Command is the hidden first argument that makes the plugin binary the
// host agent.
const Command = "__agent"

func pid() int { return os.Getpid() }

// agentAlive is true when pid is a running agent on the host; a tree's
// pids are not this machine's: none runs there.
func agentAlive(root hostfs.Root, pid int) bool {
	if pid <= 0 || root.Tree() {
		return false
	}
	cmdline, err := root.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(cmdline), Command)
}

// escapeCgroup moves the agent into the cgroups of the host's PID 1: the
// runtime kills every process of a container's cgroup when it stops, and
// the agent must outlive the helper container that started it.
func escapeCgroup(root hostfs.Root) error {
	data, err := os.ReadFile(root.Path("/proc/1/cgroup"))
	if err != nil {
		return fmt.Errorf("agent: read PID 1's cgroups: %w", err)
	}
	self := []byte(fmt.Sprint(os.Getpid()))
	var errs []error
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		dir := "/sys/fs/cgroup"
		if parts[1] != "" {
			dir = filepath.Join(dir, strings.TrimPrefix(parts[1], "name="))
		}
		procs := root.Path(filepath.Join(dir, parts[2], "cgroup.procs"))
		if err := os.WriteFile(procs, self, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("agent: leave the helper's cgroup: %w", err)
	}
	return nil
}
