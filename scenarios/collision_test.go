package scenarios

import (
	"strings"
	"testing"
)

// TestCollision: the seed's contiguous layout (agent:999:65537 style) maps
// container uid 1 onto host uid 1000, a real user; doctor FAILs on it, and
// the owner layout sends container uid 1 to an id no host user has.
func TestCollision(t *testing.T) {
	forEachHost(t, "Collision: the contiguous layout puts container uid 1 on host user alice (uid 1000), doctor FAILs on it, the owner layout avoids it", func(s *scenario) {
		s.Step("a Docker host has agent at uid 999 and alice at uid 1000", func() {
			s.Start()
			s.Run("useradd", "-r", "-M", "-u", "999", "agent")
			s.Run("useradd", "-m", "-u", "1000", "alice")
			// Only the uids matter here; forky's sysusers hold gid 999, so agent's group may be another.
			agent, alice := s.Run("id", "-u", "agent"), s.Run("id", "-u", "alice")
			s.Check(agent == "999" && alice == "1000", "agent uid 999, alice uid 1000", "agent "+agent+", alice "+alice)
			s.Run("install", "-d", "-m", "1777", "/srv/shared")
		})
		s.Step("the operator forces the contiguous layout: enable --layout contiguous --force agent", func() {
			s.Run("docker", "userns", "enable", "--layout", "contiguous", "--force", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
			m := s.uidMap()
			s.Check(m.host(0) == "999" && m.host(1) == "1000", "container uids 0 and 1 on host 999 and 1000", m.String())
		})
		s.Step("a file written by container uid 1 into a bind mount is owned by alice on the host", func() {
			s.Run("docker", "run", "--rm", "-u", "1:1", "-v", "/srv/shared:/out", "busybox", "touch", "/out/by-uid1")
			got := s.Run("stat", "-c", "%u %U", "/srv/shared/by-uid1")
			s.Check(got == "1000 alice", "owner 1000 alice", got)
		})
		s.Step("doctor FAILs, naming alice", func() {
			res := s.Try("docker", "userns", "doctor")
			s.Check(res.ExitCode == 1 && failLineNames(res.Stdout, "alice"), "exit 1 and a FAIL line naming alice", describe(res))
		})
		s.Step("the operator switches to the owner layout: enable --layout owner --force agent", func() {
			s.Run("docker", "userns", "enable", "--layout", "owner", "--force", "agent")
			m := s.uidMap()
			s.Check(m.host(0) == "999" && m.host(1) != "1000", "container uid 0 on 999, uid 1 elsewhere than 1000", m.String())
		})
		s.Step("a file written by container uid 1 is now owned by an id no host user has", func() {
			s.Run("docker", "run", "--rm", "-u", "1:1", "-v", "/srv/shared:/out", "busybox", "touch", "/out/by-uid1-owner")
			uid := s.Run("stat", "-c", "%u", "/srv/shared/by-uid1-owner")
			res := s.Try("getent", "passwd", uid)
			s.Check(uid != "1000" && res.ExitCode != 0, "an owner uid that getent passwd does not know", "uid "+uid+": "+describe(res))
		})
		s.Step("doctor no longer FAILs", func() {
			res := s.Try("docker", "userns", "doctor")
			s.Check(res.ExitCode == 0 && !strings.Contains(res.Stdout, "FAIL"), "exit 0 without FAIL", describe(res))
		})
	})
}

// failLineNames tells whether a FAIL line of doctor's table mentions name.
func failLineNames(out, name string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAIL") && strings.Contains(line, name) {
			return true
		}
	}
	return false
}
