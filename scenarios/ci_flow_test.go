package scenarios

import (
	"fmt"
	"strings"
	"testing"
)

// The CI flow of the user story: the system user agent clones a repository,
// a build container running as root writes into the bind-mounted clone, and
// the next build starts with `git clean -fdx`.
const (
	ciDir    = "/srv/ci"
	ciOrigin = ciDir + "/origin"
	ciClone  = ciDir + "/work"
	// ciGit runs git as agent with a home and an identity of its own.
	ciGit = "HOME=" + ciDir + " GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@ci.invalid GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@ci.invalid git"
)

// TestCIFlowBefore proves the problem is real: on an unremapped daemon the
// build leaves root-owned files that agent's `git clean -fdx` cannot remove.
func TestCIFlowBefore(t *testing.T) {
	forEachHost(t, "CI flow, before: on an unremapped daemon the build leaves files agent cannot clean", func(s *scenario) {
		s.Step("a fresh Docker host runs unremapped, with busybox", func() {
			s.Start()
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
		})
		createAgent(s)
		s.Step("agent clones the repository", func() { ciClone1(s) })
		s.Step("a build container running as root writes its output into the clone", func() { ciBuild(s, 1) })
		s.Step("the build output is owned by root on the host", func() {
			s.Check(s.Owner(ciClone+"/out/app") == "0:0", "out/app owned by 0:0", "owner "+s.Owner(ciClone+"/out/app"))
		})
		s.Step("agent's git clean -fdx fails with Permission denied and leaves the output", func() {
			res := s.TryAs("agent", "sh", "-c", "cd "+ciClone+" && "+ciGit+" clean -fdx")
			s.Check(strings.Contains(res.Stderr+res.Stdout, "Permission denied"), `git clean reports "Permission denied"`, describe(res))
			s.Check(s.Try("test", "-e", ciClone+"/out/app").ExitCode == 0, "out/app still on disk", "it is gone")
		})
	})
}

// TestCIFlowAfter: with `docker userns enable agent` the same flow leaves
// files agent owns, git clean works, and the next build runs again.
func TestCIFlowAfter(t *testing.T) {
	forEachHost(t, "CI flow, after: with enable agent the build output is agent's and git clean works, two rounds", func(s *scenario) {
		s.Step("a fresh Docker host runs unremapped", func() {
			s.Start()
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
		})
		createAgent(s)
		s.Step("the operator runs docker userns enable agent", func() {
			s.Run("docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
		})
		s.Step("agent clones the repository", func() { ciClone1(s) })
		for round := 1; round <= 2; round++ {
			if round == 2 {
				s.Step("a new commit lands and agent fetches it into the clean clone", func() {
					s.RunAs("agent", "sh", "-c", "cd "+ciOrigin+" && echo v2 > README && "+ciGit+" commit -qam v2")
					s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && "+ciGit+" pull -q")
				})
			}
			s.Step(fmt.Sprintf("build %d: a container running as root writes its output into the clone", round), func() { ciBuild(s, round) })
			s.Step(fmt.Sprintf("build %d: the output is owned by agent on the host", round), func() {
				want := s.IDs("agent")
				for _, p := range []string{ciClone + "/out", ciClone + "/out/app"} {
					s.Check(s.Owner(p) == want, p+" owned by agent "+want, "owner "+s.Owner(p))
				}
			})
			s.Step(fmt.Sprintf("build %d: agent's git clean -fdx succeeds and leaves the clone clean", round), func() {
				s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && "+ciGit+" clean -fdx")
				st := s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && "+ciGit+" status --porcelain --ignored")
				s.Check(st == "", "git status --porcelain --ignored prints nothing", st)
				s.Check(s.Try("test", "-e", ciClone+"/out").ExitCode != 0, "out/ gone from disk", "out/ is still there")
			})
		}
	})
}

// createAgent adds the CI user as the story has it: a system user, so no
// subordinate ids, allowed to use the docker socket.
func createAgent(s *scenario) {
	s.t.Helper()
	s.Step("the system user agent exists, with no subordinate ids, and may use docker", func() {
		s.Run("useradd", "-r", "-M", "-G", "docker", "agent")
		s.Check(s.Try("grep", "-q", "^agent:", "/etc/subuid").ExitCode != 0, "no agent line in /etc/subuid", s.Run("cat", "/etc/subuid"))
		s.Run("install", "-d", "-o", "agent", "-g", "agent", ciDir)
	})
}

// ciClone1 makes the repository (no network: a local origin) and agent's clone.
func ciClone1(s *scenario) {
	s.t.Helper()
	s.RunAs("agent", "sh", "-c", "set -e; "+ciGit+" init -q "+ciOrigin+"; cd "+ciOrigin+"; echo v1 > README; printf 'out/\\n' > .gitignore; "+ciGit+" add .; "+ciGit+" commit -qm v1")
	s.RunAs("agent", "sh", "-c", ciGit+" clone -q "+ciOrigin+" "+ciClone)
}

// ciBuild runs the build container as agent's CI script would: root inside,
// the clone bind-mounted, output under out/.
func ciBuild(s *scenario, round int) {
	s.t.Helper()
	s.RunAs("agent", "docker", "run", "--rm", "-v", ciClone+":/src", "-w", "/src", "busybox",
		"sh", "-c", fmt.Sprintf("mkdir -p out/obj && cp README out/app && echo %d > out/obj/round", round))
}
