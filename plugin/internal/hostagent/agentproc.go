package hostagent

import (
	"errors"
	"fmt"
	"os"
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
	membership, err := os.ReadFile(root.Path("/proc/1/cgroup"))
	if err != nil {
		return fmt.Errorf("agent: read PID 1's cgroups: %w", err)
	}
	mounts, err := os.ReadFile(root.Path("/proc/1/mountinfo"))
	if err != nil {
		return fmt.Errorf("agent: read PID 1's mounts: %w", err)
	}
	files, err := cgroupProcsFiles(membership, mounts)
	if err != nil {
		return fmt.Errorf("agent: leave the helper's cgroup: %w", err)
	}
	self := []byte(fmt.Sprint(os.Getpid()))
	var errs []error
	for _, procs := range files {
		if err := os.WriteFile(root.Path(procs), self, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("agent: leave the helper's cgroup: %w", err)
	}
	return nil
}
