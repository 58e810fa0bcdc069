package scenarios

import (
	"strings"
	"testing"
)

// TestRollback: a daemon that cannot start remapped is put back as it was.
// The failure is a real one: the operator keeps the data root under a
// directory only root may enter (given as a dockerd flag, as a unit's
// ExecStart would), which the unremapped daemon does not mind and the
// remapped root cannot pass. enable must restore every file, bring the old
// daemon back with its old config, and lose nothing made before.
func TestRollback(t *testing.T) {
	forEachHost(t, "Rollback: a daemon that cannot start after enable is restored, answers with the old config, and keeps the image and volume made before", func(s *scenario) {
		const dataRoot = "/srv/private/docker"
		var files string
		s.Step("a Docker host keeps its data root under a 0700 directory and labels itself site=before", func() {
			// The config is there from boot, as on a server: a restart
			// here would be the harness's, not the story's (/srv is a disk
			// of its own on every host: harness hostConfig).
			s.StartWith(hostSetup{flags: []string{"--data-root=" + dataRoot}, daemonJSON: "{\n  \"labels\": [\"site=before\"]\n}\n"})
			s.Run("chmod", "0700", "/srv/private")
			s.Run("useradd", "-r", "-M", "agent")
			expectOldConfig(s, dataRoot)
			files = s.Hashes(remapFiles...)
		})
		s.Step("an image and a named volume with data exist", func() {
			s.ImportBusybox()
			s.Run("docker", "volume", "create", "keepme")
			s.Run("docker", "run", "--rm", "-v", "keepme:/v", "busybox", "sh", "-c", "echo kept > /v/data")
		})
		s.Step("enable agent refuses before writing anything, naming the 0700 parent", func() {
			res := s.Try("docker", "userns", "enable", "agent")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, "not searchable by others"), "a refusal naming the unsearchable parent", describe(res))
			after := s.Hashes(remapFiles...)
			s.Check(after == files, "daemon.json, subuid, subgid as before:\n"+files, after)
		})
		s.Step("enable --force agent fails, the remapped daemon having failed to start", func() {
			// The plugin stops waiting when the daemon's log says it cannot start.
			res := s.Try("docker", "userns", "enable", "--force", "--timeout", "30s", "agent")
			s.Check(res.ExitCode != 0, "enable exits non-zero", describe(res))
			s.t.Logf("enable said:\n%s", describe(res))
			for _, want := range []string{"its log says: a subdirectory in your graphroot path", "restored", "old config", "daemon log"} {
				s.Check(strings.Contains(res.Stderr, want), "enable's error says "+`"`+want+`"`+" (it stopped on the daemon's own reason)", res.Stderr)
			}
			log, err := s.d.DaemonLog(s.ctx)
			if err != nil {
				s.Fail("the daemon log reads", err.Error())
			}
			s.Check(strings.Contains(log, "restricts access to the remapped root"), "the daemon log shows the remapped daemon refusing the 0700 parent", lastLines(log, 15))
		})
		s.Step("the files are byte-identical and the daemon answers with the old config", func() {
			after := s.Hashes(remapFiles...)
			s.Check(after == files, "daemon.json, subuid, subgid as before:\n"+files, after)
			expectOldConfig(s, dataRoot)
		})
		s.Step("the image and the volume's data are still there", func() {
			out := s.Run("docker", "run", "--rm", "-v", "keepme:/v", "busybox", "cat", "/v/data")
			s.Check(out == "kept", `the volume's file reads "kept"`, out)
		})
	})
}

// expectOldConfig: the daemon answers unremapped, with the data root and
// label it had before.
func expectOldConfig(s *scenario, dataRoot string) {
	s.t.Helper()
	info := s.Run("docker", "info", "--format", "{{json .SecurityOptions}} {{.DockerRootDir}} {{json .Labels}}")
	s.Check(!strings.Contains(info, "name=userns") && strings.Contains(info, " "+dataRoot+" ") && strings.Contains(info, "site=before"),
		"unremapped, data root "+dataRoot+", label site=before", info)
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
