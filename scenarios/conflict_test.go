package scenarios

import (
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// The files enable would write, compared byte for byte after a refusal.
var remapFiles = []string{harness.DaemonJSONPath, "/etc/subuid", "/etc/subgid"}

// TestConflict: when --userns-remap is already a dockerd flag (on the
// running daemon's command line, or in a systemd drop-in's ExecStart=),
// enable refuses before writing anything, and the daemon keeps running.
func TestConflict(t *testing.T) {
	forEachHost(t, "Conflict: with --userns-remap already a dockerd flag, enable is refused before anything is written; the daemon keeps running", func(s *scenario) {
		var pid, files string
		s.Step("a Docker host whose dockerd runs with --userns-remap=default on its command line", func() {
			s.StartWith(hostSetup{flags: []string{"--userns-remap=default"}})
			s.Run("useradd", "-r", "-M", "agent")
			s.Write(harness.DaemonJSONPath, "{\n  \"log-level\": \"info\"\n}\n")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			pid = s.Run("cat", harness.DaemonPIDPath)
			files = s.Hashes(remapFiles...)
		})
		s.Step("enable agent is refused, naming the running daemon's flag", func() {
			res := s.Try("docker", "userns", "enable", "agent")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, "--userns-remap=default"), "a non-zero exit naming --userns-remap=default", describe(res))
		})
		s.Step("nothing was written and the same daemon still answers, still remapped to dockremap", func() {
			expectUntouched(s, files, pid)
			root := s.Run("docker", "info", "--format", "{{.DockerRootDir}}")
			// Container root is the start of dockremap's ranges.
			want := "/" + s.Shell(`awk -F: '$1 == "dockremap" { print $2; exit }' /etc/subuid`) + "." + s.Shell(`awk -F: '$1 == "dockremap" { print $2; exit }' /etc/subgid`)
			s.Check(s.Remapped() && strings.HasSuffix(root, want), "remapped, data root .../"+want, root)
		})

		dropIn := "/etc/systemd/system/docker.service.d/userns-remap.conf"
		s.Step("the operator also left the seed's systemd drop-in with --userns-remap=agent:agent", func() {
			s.Write(dropIn, "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// --userns-remap=\"agent:agent\"\n")
			s.Run("sh", "-c", ": > "+harness.DockerdFlagsPath)
			s.Restart()
			s.Check(!s.Remapped(), "the daemon runs unremapped (the drop-in is not loaded yet)", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			pid = s.Run("cat", harness.DaemonPIDPath)
			files = s.Hashes(remapFiles...)
		})
		s.Step("enable agent is refused, naming the drop-in", func() {
			res := s.Try("docker", "userns", "enable", "agent")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, dropIn), "a non-zero exit naming "+dropIn, describe(res))
		})
		s.Step("nothing was written and the same daemon still answers, unremapped", func() {
			expectUntouched(s, files, pid)
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
		})
	})
}

// expectUntouched: the files enable writes hash as before, no backup or
// temp file appeared beside them, and the daemon is the same process.
func expectUntouched(s *scenario, files, pid string) {
	s.t.Helper()
	after := s.Hashes(remapFiles...)
	s.Check(after == files, "daemon.json, subuid, subgid byte-identical:\n"+files, after)
	extra := s.Shell("ls -A /etc/docker /etc | grep -Ei 'docker-userns|\\.bak$|\\.tmp' || true")
	s.Check(extra == "", "no backup or temp file in /etc or /etc/docker", extra)
	now := s.Run("cat", harness.DaemonPIDPath)
	s.Check(now == pid, "dockerd pid "+pid+" unchanged", now)
	s.Run("docker", "info", "--format", "{{.ServerVersion}}")
}
