package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroupRoot is where this machine mounts its cgroup hierarchies.
const cgroupRoot = "/sys/fs/cgroup"

// errNoCgroup says the container's cgroup cannot be read from here: the
// Docker engine runs on another machine, or in a VM (Docker Desktop).
var errNoCgroup = errors.New("container cgroup not readable on this machine")

// CPUTime is the CPU time every process of the container has used so far:
// the inner dockerd, containerd, the inner containers, the plugin and the
// exec agent (the cgroup counts its children's groups), not the machine's
// own shim or daemon. It reads the container's cgroup (cgroup v1
// cpuacct.usage, v2 cpu.stat usage_usec) through /proc/PID/cgroup of its
// PID 1, so it works only where the Docker engine runs on this machine.
func (d *DinD) CPUTime(ctx context.Context) (time.Duration, error) {
	if d == nil {
		return 0, errNotRunning
	}
	pid, err := d.initPID(ctx)
	if err != nil {
		return 0, fmt.Errorf("read container CPU time: %w", err)
	}
	cpu, err := cgroupCPU(cgroupRoot, fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, fmt.Errorf("read container CPU time: %w", err)
	}
	return cpu, nil
}

// initPID is the container's PID 1 as this machine sees it, asked once.
func (d *DinD) initPID(ctx context.Context) (int, error) {
	d.mu.Lock()
	pid := d.pid
	d.mu.Unlock()
	if pid != 0 {
		return pid, nil
	}
	st, err := d.State(ctx)
	if err != nil {
		return 0, err
	}
	if st.Pid == 0 {
		return 0, errors.New("container not running")
	}
	d.mu.Lock()
	d.pid = st.Pid
	d.mu.Unlock()
	return st.Pid, nil
}

// cgroupCPU reads the CPU time of the cgroup that procCgroup (a
// /proc/PID/cgroup file) names, under root: the cpuacct hierarchy on cgroup
// v1, the unified one on v2.
func cgroupCPU(root, procCgroup string) (time.Duration, error) {
	f, err := os.Open(procCgroup)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoCgroup, err)
	}
	defer f.Close()
	var unified string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "2:cpuacct:/docker/ID", "1:cpu,cpuacct:/docker/ID" or "0::/system.slice/docker-ID.scope"
		_, rest, _ := strings.Cut(sc.Text(), ":")
		controllers, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if controllers == "" {
			unified = path
			continue
		}
		for _, c := range strings.Split(controllers, ",") {
			if c == "cpuacct" {
				return readNanoseconds(filepath.Join(root, controllers, path, "cpuacct.usage"))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", procCgroup, err)
	}
	if unified == "" {
		return 0, fmt.Errorf("%w: %s names no cpuacct or unified cgroup", errNoCgroup, procCgroup)
	}
	return readUsageUsec(filepath.Join(root, unified, "cpu.stat"))
}

func readNanoseconds(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoCgroup, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s: %q is not a number", path, b)
	}
	return time.Duration(n), nil
}

func readUsageUsec(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoCgroup, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read %s: usage_usec %q is not a number", path, v)
			}
			return time.Duration(n) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("read %s: no usage_usec line", path)
}
