package scenarios

import (
	"testing"
)

// TestCIFlowBuild: the CI job builds with `docker build` after enable: a
// Dockerfile whose RUN writes files, and its output exported into agent's
// clone. BuildKit (docker-buildx) where the host has it, the legacy builder
// on 20.10, whose output a container copies out through the bind mount.
func TestCIFlowBuild(t *testing.T) {
	forEachHost(t, "CI flow with docker build: RUN steps work under remapping and the exported output is agent's, git clean removes it", func(s *scenario) {
		var buildkit bool
		s.Step("a remapped host for agent, with busybox", func() {
			s.Start()
			createAgent(s)
			s.Run("docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
			buildkit = s.Try("test", "-x", "/usr/libexec/docker/cli-plugins/docker-buildx").ExitCode == 0
			s.t.Logf("builder: BuildKit %v", buildkit)
		})
		s.Step("agent clones a repository with a Dockerfile", func() {
			ciClone1(s)
			s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && printf 'FROM busybox\\nRUN mkdir -p /dist && echo built > /dist/app && chown -R 0:0 /dist\\n' > Dockerfile")
		})
		s.Step("docker build runs the RUN step and its output lands in the clone", func() {
			if buildkit {
				s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && HOME="+ciDir+" docker build -q --output type=local,dest=out .")
				return
			}
			s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && DOCKER_BUILDKIT=0 docker build -q -t ci-build . && docker run --rm -v "+ciClone+":/src ci-build cp -r /dist /src/out")
		})
		s.Step("the build output is owned by agent on the host", func() {
			want := s.IDs("agent")
			s.Check(s.Owner(ciClone+"/out") == want, "out/ owned by agent "+want, "owner "+s.Owner(ciClone+"/out"))
		})
		s.Step("agent's git clean -fdx removes it", func() {
			s.RunAs("agent", "sh", "-c", "cd "+ciClone+" && "+ciGit+" clean -fdx")
			s.Check(s.Try("test", "-e", ciClone+"/out").ExitCode != 0, "out/ gone from disk", "out/ is still there")
		})
	})
}
