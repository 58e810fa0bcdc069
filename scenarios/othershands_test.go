package scenarios

import (
	"strings"
	"testing"
	"time"
)

// pendingRecord is the host agent's record of an armed change.
const pendingRecord = "/var/lib/docker-userns/pending.json"

// startChange runs `docker userns ARGS...` in the background on the DinD
// host, as an operator's shell would, and returns a script that kills the
// plugin's process (and its docker CLI) with SIGKILL: a client that dies
// outright.
func (s *scenario) startChange(args ...string) (kill func()) {
	s.t.Helper()
	cmd := "docker userns " + strings.Join(args, " ")
	s.Shell("setsid sh -c '" + cmd + " >/tmp/change.log 2>&1' </dev/null >/dev/null 2>&1 & echo $! >/tmp/change.pid")
	return func() {
		s.t.Helper()
		// The shell, its docker CLI, and the plugin under it, by pid.
		s.Shell(`p=$(cat /tmp/change.pid); for c in $(pgrep -P "$p"); do for g in $(pgrep -P "$c"); do kill -9 "$g"; done; kill -9 "$c"; done; kill -9 "$p" 2>/dev/null; true`)
	}
}

// phase is the agent's record's phase ("" when there is no record).
func (s *scenario) phase() string {
	s.t.Helper()
	return s.Shell(`sed -n 's/^  "phase": "\(.*\)",$/\1/p' ` + pendingRecord + ` 2>/dev/null; true`)
}

// waitPhase polls the agent's record until it is in one of phases.
// startWithOwnConfig starts a host with the CI user agent and a daemon.json
// of its own, and returns the hashes of the host files as they are then.
func (s *scenario) startWithOwnConfig() (hashes string) {
	s.Start()
	s.Run("useradd", "-r", "-M", "agent")
	s.Write("/etc/docker/daemon.json", "{\n  \"log-level\": \"info\"\n}\n")
	s.Restart()
	return s.Hashes(hostFiles...)
}

// waitArmed waits until a change started by startChange has written the
// files and armed the host agent (its record is there).
func (s *scenario) waitArmed() {
	s.WaitFor("the host agent armed (files written)", time.Minute, func() (bool, string) {
		return s.Try("test", "-e", pendingRecord).ExitCode == 0, s.Shell("cat /tmp/change.log 2>/dev/null; true")
	})
}

func (s *scenario) waitPhase(timeout time.Duration, phases ...string) {
	s.t.Helper()
	s.WaitFor("the host agent's record in phase "+strings.Join(phases, " or "), timeout, func() (bool, string) {
		p := s.phase()
		for _, want := range phases {
			if p == want {
				return true, p
			}
		}
		return false, "phase " + p + "; client: " + s.Shell("cat /tmp/change.log 2>/dev/null; true")
	})
}

// TestOthersEditTheFiles is the first scenario of issue 12's proof: an
// operator's copy beside /etc/subuid, bob's range appended between two
// enables, a useradd while the host agent waits for a confirmation that
// never comes (its client was killed) and then reverts. After disable
// --remove-ranges every line others wrote is there.
func TestOthersEditTheFiles(t *testing.T) {
	forEachHost(t, "Others edit the files: an operator's copy, bob's range between two enables and a useradd in the confirm window all survive disable --remove-ranges", func(s *scenario) {
		const copyPath, notesPath = "/etc/subuid.20240101", "/etc/.subuid.tmp-notes"
		var operatorFiles string
		s.Step("a host with the CI user agent, an operator's dated copy of /etc/subuid and a notes file beside it", func() {
			s.Start()
			s.Run("useradd", "-r", "-M", "agent")
			s.Write(copyPath, "alice:100000:65536\n")
			s.Write(notesPath, "subuid notes of the operator\n")
			operatorFiles = s.Hashes(copyPath, notesPath)
		})
		s.Step("enable agent, then disable: the operator's files are untouched", func() {
			s.Run("docker", "userns", "enable", "agent")
			s.Run("docker", "userns", "disable")
			got := s.Hashes(copyPath, notesPath)
			s.Check(got == operatorFiles, operatorFiles, got)
		})
		s.Step("bob's range is appended to both files, and agent is enabled again", func() {
			s.Shell("echo bob:900000:65536 >>/etc/subuid && echo bob:900000:65536 >>/etc/subgid")
			s.Run("docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
		})
		s.Step("a disable whose client is killed once the files are written, a useradd while the agent waits: the agent's revert keeps carol's lines", func() {
			kill := s.startChange("disable", "--confirm-timeout", "20s")
			s.waitArmed()
			kill()
			s.waitPhase(2*time.Minute, "waiting", "reverting", "reverted")
			s.Run("useradd", "-m", "carol")
			s.waitPhase(2*time.Minute, "reverted")
			s.WaitFor("the daemon remaps again after the revert", time.Minute, func() (bool, string) {
				out := s.Try("docker", "info", "--format", "{{json .SecurityOptions}}")
				return out.ExitCode == 0 && strings.Contains(out.Stdout, "name=userns"), describe(out)
			})
			for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
				content := s.Run("cat", f)
				s.Check(strings.Contains(content, "\ncarol:") || strings.HasPrefix(content, "carol:"), f+" keeps carol's range, written during the confirm window", content)
			}
		})
		s.Step("disable --remove-ranges: bob's and carol's lines, the operator's copy and notes are all there", func() {
			s.Run("docker", "userns", "disable", "--remove-ranges")
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
				content := s.Run("cat", f)
				s.Check(strings.Contains(content, "bob:900000:65536") && strings.Contains(content, "carol:") && !strings.Contains(content, "agent:"),
					f+" holds bob's and carol's lines and none of agent's", content)
			}
			got := s.Hashes(copyPath, notesPath)
			s.Check(got == operatorFiles, operatorFiles, got)
			s.Check(s.Try("test", "-e", pendingRecord).ExitCode != 0, "the finished record of the killed client's change is collected", s.Shell("ls -la /var/lib/docker-userns; true"))
		})
	})
}

// TestClientDiesMidRestart is the second scenario of issue 12's proof: the
// client is killed (SIGKILL) once enable has written the files; the host
// agent restarts the daemon, gets no confirmation, and reverts by itself.
// The files are byte for byte as before, the daemon does not remap, and
// nothing of ours is left but the backups.
func TestClientDiesMidRestart(t *testing.T) {
	forEachHost(t, "Client dies mid-restart: the host reverts by itself, every file byte for byte as before, nothing of ours left but backups", func(s *scenario) {
		var before string
		s.Step("a host with the CI user agent and a daemon.json of its own", func() { before = s.startWithOwnConfig() })
		s.Step("enable agent is killed with SIGKILL once the files are written", func() {
			kill := s.startChange("enable", "--confirm-timeout", "15s", "agent")
			s.waitArmed()
			kill()
		})
		s.Step("the host agent reverts by itself and the daemon answers unremapped", func() {
			s.waitPhase(3*time.Minute, "reverted")
			s.WaitFor("docker info without name=userns", time.Minute, func() (bool, string) {
				out := s.Try("docker", "info", "--format", "{{json .SecurityOptions}}")
				return out.ExitCode == 0 && !strings.Contains(out.Stdout, "name=userns"), describe(out)
			})
		})
		s.Step("every file is byte for byte as before", func() {
			after := s.Hashes(hostFiles...)
			s.Check(after == before, before, after)
		})
		s.Step("the next command collects the finished record; nothing of ours is left but the backups", func() {
			s.Run("docker", "userns", "disable")
			ours := s.Shell(`{ find /etc -maxdepth 2 \( -name '*docker-userns*' -o -name '.*.tmp*' -o -name 'subuid.[0-9]*' -o -name 'subgid.[0-9]*' -o -name 'daemon.json.[0-9]*' \) ! -name '*.docker-userns.bak'; find /var/lib/docker-userns -mindepth 1 2>/dev/null; docker ps -aq --filter label=org.docker-userns.created; docker ps -aq --filter name=docker-userns; docker images -q --filter label=org.docker-userns.created; docker images -q 'docker-userns-probe'; } 2>&1; true`)
			s.Check(ours == "", "no record, lock, temp file, helper or probe container or image", ours)
		})
	})
}

// TestInterruptedClientReverts is issue 12 case 12 on a real daemon: the
// plugin gets SIGINT (Ctrl-C) while it waits on the restart; it asks the
// host agent to revert at once, waits for it and says so. The files are
// byte for byte as before, and the agent's record is collected.
func TestInterruptedClientReverts(t *testing.T) {
	forEachHost(t, "Interrupted client: Ctrl-C during the restart makes the client ask the host agent to revert, and say so", func(s *scenario) {
		var before, plugin string
		s.Step("a host with the CI user agent and a daemon.json of its own", func() { before = s.startWithOwnConfig() })
		s.Step("enable agent gets SIGINT while the host agent restarts the daemon", func() {
			s.startChange("enable", "--confirm-timeout", "2m", "agent")
			s.waitArmed()
			plugin = s.Shell(`p=$(cat /tmp/change.pid); for c in $(pgrep -P "$p") $(for x in $(pgrep -P "$p"); do pgrep -P "$x"; done) "$p"; do [ "$(cat /proc/$c/comm 2>/dev/null)" = docker-userns ] && echo "$c"; done | head -1`)
			s.Check(plugin != "", "the plugin's process under the operator's shell", s.Shell("ps -ef; true"))
			s.Run("kill", "-INT", plugin)
		})
		s.Step("the client says it asked the host agent to revert, and exits once the host reverted", func() {
			s.WaitFor("the plugin's process gone", 3*time.Minute, func() (bool, string) {
				return s.Try("test", "-e", "/proc/"+plugin).ExitCode != 0, s.Shell("cat /tmp/change.log; true")
			})
			log := s.Run("cat", "/tmp/change.log")
			s.Check(strings.Contains(log, "interrupted: asking the host agent to revert") && strings.Contains(log, "the client was interrupted"),
				"the client says it asked for the revert, and why the change was reverted", log)
		})
		s.Step("the daemon does not remap, every file is byte for byte as before, the record is collected", func() {
			s.WaitFor("docker info without name=userns", time.Minute, func() (bool, string) {
				out := s.Try("docker", "info", "--format", "{{json .SecurityOptions}}")
				return out.ExitCode == 0 && !strings.Contains(out.Stdout, "name=userns"), describe(out)
			})
			after := s.Hashes(hostFiles...)
			s.Check(after == before, before, after)
			s.Check(s.Try("test", "-e", pendingRecord).ExitCode != 0, "no record left", s.Shell("cat "+pendingRecord+"; true"))
		})
	})
}
