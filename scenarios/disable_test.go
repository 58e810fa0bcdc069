package scenarios

import (
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// TestDisable: disable returns the daemon to unremapped operation, and the
// images made before enable, hidden while remapping was on, are back.
func TestDisable(t *testing.T) {
	forEachHost(t, "Disable: the daemon runs unremapped again and the images made before enable are visible again", func(s *scenario) {
		var files string
		s.Step("an unremapped Docker host has an image made before enable", func() {
			s.Start()
			s.Run("useradd", "-r", "-M", "agent")
			s.Write(harness.DaemonJSONPath, "{\n  \"log-level\": \"info\"\n}\n")
			s.Restart()
			files = s.Hashes(remapFiles...)
			if err := s.d.ImportBusybox(s.ctx, "before:1"); err != nil {
				s.Fail("before:1 imports", err.Error())
			}
		})
		s.Step("after enable agent the daemon remaps and the image is out of sight", func() {
			s.Run("docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			images := s.Run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}")
			s.Check(!strings.Contains(images, "before:1"), "before:1 not listed", images)
			s.ImportBusybox()
			s.Run("docker", "run", "--rm", "busybox", "true")
		})
		s.Step("the operator runs docker userns disable --remove-ranges", func() {
			s.Run("docker", "userns", "disable", "--remove-ranges")
		})
		s.Step("the daemon answers unremapped from its old data root", func() {
			info := s.Run("docker", "info", "--format", "{{json .SecurityOptions}} {{.DockerRootDir}}")
			s.Check(!strings.Contains(info, "name=userns") && strings.HasSuffix(info, " /var/lib/docker"), "no name=userns, data root /var/lib/docker", info)
		})
		s.Step("the image made before enable is listed and runs", func() {
			images := s.Run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}")
			s.Check(strings.Contains(images, "before:1"), "before:1 listed", images)
			s.Run("docker", "run", "--rm", "before:1", "true")
		})
		s.Step("daemon.json, subuid and subgid are byte-identical to before enable", func() {
			after := s.Hashes(remapFiles...)
			s.Check(after == files, files, after)
		})
	})
}
