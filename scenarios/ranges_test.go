package scenarios

import (
	"strings"
	"testing"
)

// hostFiles are the files enable writes; their hashes prove "no byte changed".
var hostFiles = []string{"/etc/subuid", "/etc/subgid", "/etc/docker/daemon.json"}

// TestRegularUser: a login user made by useradd already has a range
// (agent:100000:65536 on Debian); enable keeps it as the wide part, puts
// the one-wide line above it, and the CI flow works; disable gives the
// files back byte for byte.
func TestRegularUser(t *testing.T) {
	forEachHost(t, "Regular user: useradd's own range stays, container root is agent, the CI flow works, disable --remove-ranges restores the files", func(s *scenario) {
		var before string
		s.Step("a Docker host has a regular user agent made by useradd, with its own subordinate range", func() {
			s.Start()
			s.Run("useradd", "-m", "-G", "docker", "agent")
			s.Write("/etc/docker/daemon.json", "{\n  \"log-level\": \"info\"\n}\n")
			sub := s.Run("cat", "/etc/subuid")
			s.Check(sub == "agent:100000:65536", "useradd wrote agent:100000:65536 to /etc/subuid", sub)
			s.Run("install", "-d", "-o", "agent", "-g", "agent", ciDir)
			before = s.Hashes(hostFiles...)
		})
		s.Step("the operator runs docker userns enable agent", func() {
			s.Run("docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
		})
		s.Step("the one-wide line is above agent's own range, which is still there", func() {
			uid := s.Run("id", "-u", "agent")
			sub := s.Run("cat", "/etc/subuid")
			s.Check(sub == "agent:"+uid+":1\nagent:100000:65536", "agent:"+uid+":1 then agent:100000:65536", sub)
		})
		s.Step("container root is agent: a probe's uid_map starts with agent's uid, one wide", func() {
			m := s.uidMap()
			uid := s.Run("id", "-u", "agent")
			s.Check(m.host(0) == uid && m.host(1) == "100000", "container uid 0 on "+uid+", uid 1 on 100000", m.String())
		})
		s.Step("agent clones, a root build writes into the clone, the output is agent's", func() {
			ciClone1(s)
			ciBuild(s, 1)
			want := s.IDs("agent")
			s.Check(s.Owner(ciClone+"/out/app") == want, "out/app owned by agent "+want, "owner "+s.Owner(ciClone+"/out/app"))
		})
		s.Step("agent's git clean -fdx removes the output", func() {
			s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && "+ciGit+" clean -fdx")
			s.Check(s.Try("test", "-e", ciClone+"/out").ExitCode != 0, "out/ gone from disk", "out/ is still there")
		})
		s.Step("docker userns disable --remove-ranges gives back every file byte for byte", func() {
			s.Run("docker", "userns", "disable", "--remove-ranges")
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			after := s.Hashes(hostFiles...)
			s.Check(after == before, before, after)
		})
	})
}

// TestHostSetUpByAnotherTool: Buildkite's Elastic CI Stack writes its own
// owner layout (container gid 0 is the docker group) and turns remapping
// on; the plugin sees a working host and leaves it alone.
func TestHostSetUpByAnotherTool(t *testing.T) {
	forEachHost(t, "Host set up by another tool: Buildkite's layout passes status, doctor and test; enable changes nothing and does not restart; disable keeps other keys", func(s *scenario) {
		var dockerGID, before, pid string
		s.Step("a host remaps for buildkite-agent the way Buildkite's Elastic CI Stack sets it up", func() {
			s.Start()
			s.Run("useradd", "-m", "-u", "2000", "-G", "docker", "buildkite-agent")
			dockerGID = s.Shell("getent group docker | cut -d: -f3")
			s.Write("/etc/subuid", "buildkite-agent:2000:1\nbuildkite-agent:100000:65536\n")
			s.Write("/etc/subgid", "buildkite-agent:"+dockerGID+":1\nbuildkite-agent:100000:65536\n")
			s.Write("/etc/docker/daemon.json", "{\n  \"userns-remap\": \"buildkite-agent\",\n  \"log-level\": \"info\"\n}\n")
			s.Restart()
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			root := s.Run("docker", "info", "--format", "{{.DockerRootDir}}")
			s.Check(root == "/var/lib/docker/2000."+dockerGID, "data root /var/lib/docker/2000."+dockerGID, root)
		})
		s.Step("status, doctor and test pass", func() {
			st := s.Try("docker", "userns", "status")
			s.Check(st.ExitCode == 0 && strings.Contains(st.Stdout, "0 "+dockerGID+" 1"), "status exits 0 and shows container gid 0 on the docker group ("+dockerGID+")", describe(st))
			doc := s.Try("docker", "userns", "doctor")
			s.Check(doc.ExitCode == 0 && !strings.Contains(doc.Stdout, "FAIL"), "doctor exits 0 without FAIL", describe(doc))
			test := s.Try("docker", "userns", "test")
			s.Check(test.ExitCode == 0, "docker userns test exits 0", describe(test))
		})
		s.Step("enable buildkite-agent finds it enabled, changes no byte and does not restart the daemon", func() {
			before = s.Hashes(hostFiles...)
			pid = s.Run("pidof", "dockerd")
			out := s.Run("docker", "userns", "enable", "buildkite-agent")
			s.Check(strings.Contains(out, "nothing written, no restart"), `enable says "nothing written, no restart"`, out)
			after := s.Hashes(hostFiles...)
			s.Check(after == before, before, after)
			now := s.Run("pidof", "dockerd")
			s.Check(now == pid, "dockerd still pid "+pid, "pid "+now)
		})
		s.Step("disable turns remapping off and keeps daemon.json's other keys", func() {
			s.Run("docker", "userns", "disable")
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			cfg := s.Run("cat", "/etc/docker/daemon.json")
			s.Check(strings.Contains(cfg, `"log-level": "info"`) && !strings.Contains(cfg, "userns-remap"), `daemon.json keeps "log-level" and has no userns-remap`, cfg)
		})
	})
}

// TestExistingCollisionRefused: the first seed's contiguous range puts
// container uid 1 on a real user; enable refuses it (no byte changed, no
// restart) and doctor FAILs naming the user.
func TestExistingCollisionRefused(t *testing.T) {
	forEachHost(t, "Existing collision refused: a contiguous range over host user alice makes enable refuse and doctor FAIL, naming alice", func(s *scenario) {
		var before, pid string
		s.Step("a host remaps agent with the seed's contiguous range over alice", func() {
			s.Start()
			s.Run("useradd", "-r", "-M", "-u", "999", "agent")
			s.Run("useradd", "-m", "-u", "1000", "alice")
			s.Write("/etc/subuid", "alice:100000:65536\nagent:999:65537\n")
			s.Write("/etc/subgid", "alice:100000:65536\nagent:999:65537\n")
			s.Write("/etc/docker/daemon.json", "{\"userns-remap\": \"agent\"}\n")
			s.Restart()
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			before = s.Hashes(hostFiles...)
			pid = s.Run("pidof", "dockerd")
		})
		s.Step("doctor FAILs, naming alice", func() {
			res := s.Try("docker", "userns", "doctor")
			s.Check(res.ExitCode == 1 && failLineNames(res.Stdout, "alice"), "exit 1 and a FAIL line naming alice", describe(res))
		})
		for _, layout := range []string{"owner", "contiguous"} {
			s.Step("enable --layout "+layout+" agent refuses, naming alice and container uid 1, and changes nothing", func() {
				res := s.Try("docker", "userns", "enable", "--layout", layout, "agent")
				msg := res.Stderr + res.Stdout
				s.Check(res.ExitCode != 0 && strings.Contains(msg, "container uid 1 lands on host user alice (1000)"), "a non-zero exit naming container uid 1 and alice", describe(res))
				after := s.Hashes(hostFiles...)
				s.Check(after == before, before, after)
				now := s.Run("pidof", "dockerd")
				s.Check(now == pid, "dockerd still pid "+pid, "pid "+now)
			})
		}
	})
}
