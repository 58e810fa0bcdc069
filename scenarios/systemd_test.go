package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// unit reads one property of docker.service as systemd has it.
func (s *scenario) unit(property string) string {
	s.t.Helper()
	return s.Run("systemctl", "show", "docker.service", "--value", "-p", property)
}

// TestSocketActivatedEnableDisable: systemd keeps /run/docker.sock open
// across a restart, so no outage shows; enable and disable still see the
// restart, verify it and confirm it, quickly.
func TestSocketActivatedEnableDisable(t *testing.T) {
	forEachHost(t, "Socket activation: enable and disable restart docker.service behind docker.socket, verify and confirm", func(s *scenario) {
		var invocation string
		s.Step("a server runs dockerd from docker.service, socket-activated by docker.socket", func() {
			s.Start()
			active := s.Run("systemctl", "is-active", "docker.socket", "docker.service")
			s.Check(active == "active\nactive", "docker.socket and docker.service active", active)
			exec := s.unit("ExecStart")
			s.Check(strings.Contains(exec, "-H fd://"), "dockerd started with -H fd://", exec)
			s.Run("useradd", "-r", "-M", "-G", "docker", "agent")
			invocation = s.unit("InvocationID")
		})
		s.Step("docker userns enable agent restarts docker.service and confirms the remapped daemon", func() {
			start := time.Now()
			s.Run("docker", "userns", "enable", "agent")
			took := time.Since(start)
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			now := s.unit("InvocationID")
			s.Check(now != invocation, "a new docker.service invocation", "InvocationID still "+now)
			s.Check(took < 45*time.Second, "enable done well before the host agent's 60 s confirm deadline", took.String())
			invocation = now
		})
		s.Step("the change was confirmed: no pending record is left for the host agent to revert", func() {
			s.Check(s.Try("test", "-e", "/var/lib/docker-userns/pending.json").ExitCode != 0, "no pending record left", s.Shell("cat /var/lib/docker-userns/pending.json 2>&1 || true"))
		})
		s.Step("docker userns disable restarts it again, unremapped, and docker.service stays active", func() {
			s.Run("docker", "userns", "disable")
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			active := s.Run("systemctl", "is-active", "docker.service")
			s.Check(active == "active", "docker.service active", active)
			now := s.unit("InvocationID")
			s.Check(now != invocation, "a new docker.service invocation", "InvocationID still "+now)
		})
	})
}

// TestSystemdStartLimit: Debian's unit allows three starts in 60 s. After
// the boot start and two quick restarts, an enable whose daemon cannot start
// must still bring docker back: the agent resets the failed unit before the
// restarts it depends on.
func TestSystemdStartLimit(t *testing.T) {
	forEachHost(t, "Start limit: after quick restarts, an enable whose daemon cannot start leaves docker active and unremapped", func(s *scenario) {
		const dataRoot = "/srv/private/docker"
		var files string
		s.Step("docker.service keeps its data root under a 0700 directory", func() {
			s.Start()
			s.Run("useradd", "-r", "-M", "agent")
			s.Run("install", "-d", "-m", "0700", "/srv/private")
			s.Write(harness.DaemonJSONPath, "{\n  \"data-root\": \""+dataRoot+"\"\n}\n")
			s.Restart()
			root := s.Run("docker", "info", "--format", "{{.DockerRootDir}}")
			s.Check(root == dataRoot, "data root "+dataRoot, root)
			files = s.Hashes(remapFiles...)
		})
		// The harness's restart resets the unit's failed state (and its start
		// count); one more start makes enable's restart the third within the
		// minute and its revert the fourth, which systemd refuses unless the
		// host agent resets the unit first.
		s.Step("a second start within the minute: enable's revert will be the fourth", func() {
			burst := s.unit("StartLimitBurst")
			s.Check(burst == "3", "StartLimitBurst=3 (Debian's unit)", burst)
			s.Run("systemctl", "restart", "docker")
		})
		s.Step("enable --force agent fails: the remapped daemon cannot reach its data root", func() {
			res := s.Try("docker", "userns", "enable", "--force", "--timeout", "30s", "agent")
			s.Check(res.ExitCode != 0, "enable exits non-zero", describe(res))
			s.t.Logf("enable said:\n%s", describe(res))
		})
		s.Step("docker.service is active, unremapped, and the files are as before", func() {
			s.WaitFor("docker.service active", 60*time.Second, func() (bool, string) {
				out := s.Try("systemctl", "is-active", "docker.service")
				return strings.TrimSpace(out.Stdout) == "active", out.Stdout
			})
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			after := s.Hashes(remapFiles...)
			s.Check(after == files, "daemon.json, subuid, subgid as before:\n"+files, after)
		})
	})
}

// TestSeedDropIn: the first seed turned remapping on with a drop-in that
// replaces ExecStart=; daemon.json with the same key would stop dockerd, so
// enable refuses before writing, and does not restart.
func TestSeedDropIn(t *testing.T) {
	forEachHost(t, "Seed's drop-in: with --userns-remap in a docker.service drop-in, enable is refused, nothing written, no restart", func(s *scenario) {
		const dropIn = "/etc/systemd/system/docker.service.d/userns-remap.conf"
		var files, pid string
		s.Step("the operator followed the seed: a drop-in runs dockerd -H fd:// --userns-remap=agent:agent", func() {
			s.Start()
			dockerd := s.Shell("command -v dockerd") // /usr/sbin/dockerd on Debian
			s.Run("useradd", "-r", "-M", "agent")
			s.Write("/etc/subuid", "agent:100000:65536\n")
			s.Write("/etc/subgid", "agent:100000:65536\n")
			s.Run("mkdir", "-p", "/etc/systemd/system/docker.service.d")
			s.Write(dropIn, "[Service]\nExecStart=\nExecStart="+dockerd+" -H fd:// --userns-remap=agent:agent\n")
			s.Run("systemctl", "daemon-reload")
			s.Restart()
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.Write(harness.DaemonJSONPath, "{\n  \"log-level\": \"info\"\n}\n")
			files = s.Hashes(remapFiles...)
			pid = s.unit("MainPID")
		})
		s.Step("enable agent is refused, naming the drop-in", func() {
			res := s.Try("docker", "userns", "enable", "agent")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, dropIn), "a non-zero exit naming "+dropIn, describe(res))
		})
		s.Step("nothing was written and dockerd was not restarted", func() {
			after := s.Hashes(remapFiles...)
			s.Check(after == files, "daemon.json, subuid, subgid byte-identical:\n"+files, after)
			now := s.unit("MainPID")
			s.Check(now == pid, "dockerd pid "+pid+" unchanged", now)
		})
	})
}
