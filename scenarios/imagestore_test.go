package scenarios

import (
	"path/filepath"
	"regexp"
	"strconv"
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
		s.Step("enable agent is refused, naming the containerd image store and BuildKit (Docker 29: that dockerd would not start)", func() {
			res := s.Try("docker", "userns", "enable", "agent")
			msg := res.Stderr + res.Stdout
			why := "BuildKit"
			if defaultStoreIsContainerd(s) {
				why = "refuses to start with it and userns-remap"
			}
			s.Check(res.ExitCode != 0 && strings.Contains(msg, "containerd image store") && strings.Contains(msg, why), "a non-zero exit naming the containerd image store and "+why, describe(res))
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
		if !defaultStoreIsContainerd(s) {
			return
		}
		// Seen on 29.8.1: with the migration and remapping, dockerd logs
		// "Enabling containerd snapshotter because migration set with no
		// containers and 0 images in graph driver", runs remapped on the
		// containerd store, and a BuildKit RUN step fails.
		s.Step("Docker 29: features.containerd-migration is refused too, before writing, and doctor says why", func() {
			s.Write(harness.DaemonJSONPath, "{\n  \"features\": {\"containerd-migration\": true}\n}\n")
			files = s.Hashes(remapFiles...)
			res := s.Try("docker", "userns", "enable", "agent")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, "features.containerd-migration") && strings.Contains(res.Stderr, "BuildKit"), "a non-zero exit naming features.containerd-migration and BuildKit", describe(res))
			expectUntouched(s, files, pid)
			res = s.Try("docker", "userns", "doctor")
			s.Check(strings.Contains(res.Stdout, "WARN") && strings.Contains(res.Stdout, "containerd-migration"), "a WARN line naming containerd-migration", describe(res))
		})
	})
}

// defaultStoreIsContainerd is true on Docker 29 and newer, whose fresh data
// root gets the containerd image store (moby daemon/image_store_choice.go,
// determineImageStoreChoice, at docker-v29.7.1).
func defaultStoreIsContainerd(s *scenario) bool {
	major, _ := strconv.Atoi(strings.SplitN(s.img.Version, ".", 2)[0])
	return major >= 29
}

// TestDefaultImageStore: on a fresh host, whatever its default image store
// (containerd from Docker 29, a graphdriver before), enable remaps, builds
// with RUN steps work, status and doctor name the store before and after,
// and disable brings back the store and the images of before. On 29 the
// store changes to a graphdriver under remapping, and enable says so.
func TestDefaultImageStore(t *testing.T) {
	forEachHost(t, "Default image store: enable remaps a fresh host (Docker 29: from the containerd store to a graphdriver, said before), BuildKit RUN works, disable brings the store and its images back", func(s *scenario) {
		containerd := false
		var before string
		s.Step("a fresh host with busybox in its default image store", func() {
			s.Start()
			s.ImportBusybox()
			containerd = defaultStoreIsContainerd(s)
			status := s.Run("docker", "info", "--format", "{{json .DriverStatus}}")
			s.Check(strings.Contains(status, "io.containerd.snapshotter.v1") == containerd, "the containerd store in docker info: "+strconv.FormatBool(containerd), status)
			before = s.Run("docker", "image", "inspect", "-f", "{{.Id}}", "busybox:latest")
		})
		createAgent(s)
		s.Step("status and doctor name the store now and once remapped", func() {
			statusSaysStore(s, containerd, "containerd (a graphdriver with remapping on)", "overlay2 (the same with remapping on)")
			res := s.Try("docker", "userns", "doctor")
			s.Check(strings.Contains(res.Stdout, "image store") && !strings.Contains(res.Stdout, "enable will refuse"), "doctor has an image store line and no refusal", describe(res))
		})
		s.Step("enable --dry-run says the images go out of view (Docker 29: and the store changes), and changes nothing", func() {
			hashes := "sha256sum " + strings.Join(remapFiles, " ") + " 2>&1; true"
			files := s.Shell(hashes)
			out := all(s, "docker", "userns", "enable", "--dry-run", "agent")
			s.Check(strings.Contains(out, "stay on disk but are not visible until remapping is disabled"), "the dry run says the images go out of view", out)
			switched := strings.Contains(out, "the image store changes from containerd to a graphdriver")
			s.Check(switched == containerd, "the dry run names the store change: "+strconv.FormatBool(containerd), out)
			s.Check(s.Shell(hashes) == files, "daemon.json, subuid, subgid unchanged", s.Shell(hashes))
		})
		s.Step("enable agent remaps, on a graphdriver, with busybox out of view", func() {
			out := all(s, "docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.Check(strings.Contains(out, "the image store changes from containerd to a graphdriver") == containerd, "enable names the store change: "+strconv.FormatBool(containerd), out)
			driver := s.Run("docker", "info", "--format", "{{.Driver}} {{json .DriverStatus}}")
			s.Check(strings.HasPrefix(driver, "overlay2 ") && !strings.Contains(driver, "io.containerd.snapshotter.v1"), "the overlay2 graphdriver", driver)
			s.Check(s.Try("docker", "image", "inspect", "busybox:latest").ExitCode != 0, "busybox out of view", "it is listed")
		})
		s.Step("a file container root writes into a bind mount is agent's, and docker userns test passes", func() {
			s.ImportBusybox()
			dir := filepath.Join(ciDir, "bind")
			s.Run("install", "-d", "-o", "agent", "-g", "agent", dir)
			s.RunAs("agent", "docker", "run", "--rm", "-v", dir+":/out", "busybox", "sh", "-c", "echo x > /out/f")
			s.Check(s.Owner(dir+"/f") == s.IDs("agent"), "f owned by agent "+s.IDs("agent"), s.Owner(dir+"/f"))
			res := s.Try("docker", "userns", "test")
			s.Check(res.ExitCode == 0, "docker userns test exits 0", describe(res))
		})
		s.Step("docker build with a RUN step works (BuildKit where the host has docker-buildx)", func() {
			dir := filepath.Join(ciDir, "build")
			s.Run("mkdir", "-p", dir)
			s.Write(dir+"/Dockerfile", "FROM busybox\nRUN echo built > /built && chown 1000:1000 /built\n")
			env := "DOCKER_BUILDKIT=1"
			if s.Try("test", "-x", "/usr/libexec/docker/cli-plugins/docker-buildx").ExitCode != 0 {
				s.Check(!containerd, "docker-buildx on a Docker 29 host", "none")
				env = "DOCKER_BUILDKIT=0"
			}
			s.Run("sh", "-c", env+" docker build -q -t built "+dir)
			got := s.Run("docker", "run", "--rm", "built", "stat", "-c", "%u:%g %n", "/built")
			s.Check(got == "1000:1000 /built", "the RUN step's file, 1000:1000", got)
		})
		s.Step("status names the store now and once remapping is off", func() {
			statusSaysStore(s, containerd, "overlay2 (containerd with remapping off)", "overlay2 (the same with remapping off)")
		})
		s.Step("disable brings the store and busybox back, and says so", func() {
			out := all(s, "docker", "userns", "disable")
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.Check(strings.Contains(out, "the image store changes from overlay2 back to containerd") == containerd, "disable names the store change: "+strconv.FormatBool(containerd), out)
			status := s.Run("docker", "info", "--format", "{{json .DriverStatus}}")
			s.Check(strings.Contains(status, "io.containerd.snapshotter.v1") == containerd, "the containerd store in docker info again: "+strconv.FormatBool(containerd), status)
			got := s.Run("docker", "image", "inspect", "-f", "{{.Id}}", "busybox:latest")
			s.Check(got == before, "busybox with its id of before, "+before, got)
			s.Check(s.Try("docker", "image", "inspect", "built").ExitCode != 0, "the image built while remapped out of view", "it is listed")
		})
	})
}

// all runs cmd, which must exit 0, and returns its stdout and stderr: the
// plugin's warnings go to stderr.
func all(s *scenario, cmd ...string) string {
	s.t.Helper()
	res := s.Try(cmd...)
	s.Check(res.ExitCode == 0, strings.Join(cmd, " ")+" exits 0", describe(res))
	return res.Stdout + res.Stderr
}

// statusSaysStore checks status's Image store line: onContainerd on a host
// whose default store is containerd, else otherwise.
func statusSaysStore(s *scenario, containerd bool, onContainerd, otherwise string) {
	s.t.Helper()
	want := otherwise
	if containerd {
		want = onContainerd
	}
	out := s.Run("docker", "userns", "status")
	s.Check(regexp.MustCompile(`(?m)^Image store: +`+regexp.QuoteMeta(want)+"$").MatchString(out), "status says Image store: "+want, out)
}
