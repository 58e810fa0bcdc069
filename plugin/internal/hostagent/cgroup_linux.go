package hostagent

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// cgroupProcsFiles returns the cgroup.procs file of PID 1's cgroup in every
// hierarchy that PID 1 belongs to (membership: /proc/1/cgroup) and that is
// mounted in its mount namespace (mounts: /proc/1/mountinfo). Each hierarchy
// is found through its mount, not guessed from its name: on a hybrid host
// (systemd's cgroup v1 controllers plus the v2 hierarchy at
// /sys/fs/cgroup/unified) the line "0::/path" lives under the unified mount,
// and runc kills a stopped container's leftovers through it. runc v1.3.6,
// libcontainer/init_linux.go signalAllProcesses: "Use cgroup.kill, if
// available" on m.Path(""), "Either cgroup v2 or hybrid"; destroy() calls
// it for a container that shares the host's PID namespace, as the helper
// does. An agent left in the helper's v2 cgroup died with the helper on
// Docker 29's systemd host (runc 1.3.6); runc 1.1 has no cgroup.kill and
// kills through the v1 devices hierarchy, which the agent had left.
func cgroupProcsFiles(membership, mounts []byte) ([]string, error) {
	hierarchies, err := parseCgroupMounts(mounts)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(membership)), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("/proc/1/cgroup: malformed line %q", line)
		}
		controllers, cgroup := parts[1], parts[2]
		found, mounted := false, false
		for _, m := range hierarchies {
			if !m.holds(controllers) {
				continue
			}
			mounted = true
			rel, ok := m.relative(cgroup)
			if !ok {
				continue
			}
			files = append(files, path.Join(m.point, rel, "cgroup.procs"))
			found = true
			break
		}
		if mounted && !found {
			return nil, fmt.Errorf("no mount of cgroup hierarchy %q shows PID 1's cgroup %s", hierarchyName(controllers), cgroup)
		}
		// A hierarchy that is not mounted is one the runtime cannot use
		// either: nothing to leave there.
	}
	return files, nil
}

// cgroupMount is one mount of a cgroup hierarchy.
type cgroupMount struct {
	v2          bool
	controllers map[string]bool // v1: the controllers and name= of the hierarchy
	root        string          // the cgroup the mount shows at its point
	point       string
}

// holds tells whether the mount is of the hierarchy that a /proc/PID/cgroup
// line names by its controllers ("" for the v2 hierarchy).
func (m cgroupMount) holds(controllers string) bool {
	if controllers == "" {
		return m.v2
	}
	if m.v2 {
		return false
	}
	for _, c := range strings.Split(controllers, ",") {
		if !m.controllers[c] {
			return false
		}
	}
	return true
}

// relative is cgroup's path below the mount's point, when the mount shows it.
func (m cgroupMount) relative(cgroup string) (string, bool) {
	if m.root == "/" {
		return cgroup, true
	}
	if cgroup == m.root || strings.HasPrefix(cgroup, m.root+"/") {
		return strings.TrimPrefix(cgroup, m.root), true
	}
	return "", false
}

func hierarchyName(controllers string) string {
	if controllers == "" {
		return "cgroup2"
	}
	return controllers
}

// parseCgroupMounts reads the cgroup mounts of a mountinfo file with
// moby/sys/mountinfo, which also undoes the kernel's octal escapes.
func parseCgroupMounts(mounts []byte) ([]cgroupMount, error) {
	infos, err := mountinfo.GetMountsFromReader(bytes.NewReader(mounts), mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, fmt.Errorf("/proc/1/mountinfo: %w", err)
	}
	var out []cgroupMount
	for _, info := range infos {
		m := cgroupMount{root: info.Root, point: info.Mountpoint, v2: info.FSType == "cgroup2"}
		if !m.v2 {
			m.controllers = map[string]bool{}
			for _, o := range strings.Split(info.VFSOptions, ",") {
				m.controllers[o] = true
			}
		}
		out = append(out, m)
	}
	return out, nil
}
