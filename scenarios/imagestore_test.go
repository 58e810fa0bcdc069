package scenarios

import (
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// TestContainerdImageStore: remapping with the containerd image store
// breaks every BuildKit RUN step (moby issue #47377) and hides the images
// kept there; enable refuses before writing anything or restarting. Only
// on the versions that have the store (Docker 24 and newer).
func TestContainerdImageStore(t *testing.T) {
	forEachHost(t, "Containerd image store: enable refuses before writing, the daemon is not restarted, doctor warns", func(s *scenario) {
		var files, pid string
		s.Step("a host keeps its images in the containerd image store", func() {
			s.StartWith(hostSetup{daemonJSON: "{\n  \"features\": {\"containerd-snapshotter\": true}\n}\n"})
			s.Run("useradd", "-r", "-M", "agent")
			status := s.Run("docker", "info", "--format", "{{json .DriverStatus}}")
			s.Check(strings.Contains(status, "io.containerd.snapshotter.v1"), "docker info shows driver-type io.containerd.snapshotter.v1", status)
			s.ImportBusybox()
			files = s.Hashes(remapFiles...)
			pid = s.Run("cat", harness.DaemonPIDPath)
		})
		s.Step("enable agent is refused, naming the containerd image store and BuildKit", func() {
			res := s.Try("docker", "userns", "enable", "agent")
			msg := res.Stderr + res.Stdout
			s.Check(res.ExitCode != 0 && strings.Contains(msg, "containerd image store") && strings.Contains(msg, "BuildKit"), "a non-zero exit naming the containerd image store and BuildKit", describe(res))
		})
		s.Step("nothing was written and the same daemon still answers, unremapped, with its image", func() {
			expectUntouched(s, files, pid)
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.Run("docker", "image", "inspect", "busybox:latest")
		})
		s.Step("doctor warns that enable will refuse", func() {
			res := s.Try("docker", "userns", "doctor")
			s.Check(strings.Contains(res.Stdout, "WARN") && strings.Contains(res.Stdout, "containerd image store"), "a WARN line naming the containerd image store", describe(res))
		})
	})
}
