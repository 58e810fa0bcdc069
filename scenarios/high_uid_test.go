package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/harness/fixtureimage"
)

// TestHighUIDPull: a 65536-wide range cannot take an image with a file
// owned by 70000; check-image says so before the pull, the pull fails with
// the daemon's message, the size check-image suggests makes it pass with
// the file on the expected host id, and uid 65535 (the boundary) fits.
func TestHighUIDPull(t *testing.T) {
	forEachHost(t, "High-UID pull: a file owned by 70000 fails on a 65536-wide range, pulls after enable --size with the suggested size; 65535 fits", func(s *scenario) {
		high := harness.RegistryAddr + "/thirdparty/high:1"
		edge := harness.RegistryAddr + "/thirdparty/edge:1"
		s.Step("a Docker host remaps to agent with the default 65536-wide range", func() {
			s.Start()
			s.Run("useradd", "-r", "-M", "agent")
			s.Run("docker", "userns", "enable", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
			uidMap := s.uidMap()
			s.Check(uidMap.size() == 65536, "a container's uid_map maps 65536 ids", uidMap.String())
		})
		s.Step("the registry holds an image with a file owned by 70000:70000 and one at 65535:65535", func() {
			if err := s.d.StartRegistry(s.ctx); err != nil {
				s.Fail("the registry fixture starts", err.Error())
			}
			for ref, id := range map[string]int{high: 70000, edge: 65535} {
				if _, err := s.d.PushImage(s.ctx, ref, fixtureimage.File{Path: "/data/owned", UID: id, GID: id}); err != nil {
					s.Fail("push "+ref, err.Error())
				}
			}
		})
		var suggested uint64
		s.Step("check-image predicts, before any pull, that the 70000 image does not fit and the 65535 one does", func() {
			res := s.Try("docker", "userns", "check-image", "--format", "json", high, edge)
			rows, err := harness.JSONLines[struct {
				Ref           string `json:"ref"`
				Fits, Known   bool
				SuggestedSize uint64 `json:"suggestedSize"`
			}](res.Stdout)
			if err != nil {
				s.Fail("check-image --format json prints a JSON object per image, per line", err.Error()+": "+describe(res))
			}
			verdict := map[string]bool{}
			for _, r := range rows {
				verdict[r.Ref] = r.Known && r.Fits
				if r.Ref == high {
					suggested = r.SuggestedSize
				}
			}
			s.Check(res.ExitCode == 1 && len(rows) == 2 && !verdict[high] && verdict[edge], "exit 1; high does not fit, edge fits", describe(res))
			s.Check(suggested > 70000, "a suggested size above 70000", fmt.Sprint(suggested))
			s.Check(s.Try("docker", "image", "inspect", high).ExitCode != 0, "nothing pulled by the check", "the image is in the daemon")
		})
		s.Step("pulling the 70000 image fails with the daemon's cannot be mapped to a host ID", func() {
			res := s.Try("docker", "pull", high)
			s.Check(res.ExitCode != 0 && strings.Contains(strings.ToLower(res.Stderr), "cannot be mapped to a host id"),
				`the pull fails with "container ID 70000 cannot be mapped to a host ID"`, describe(res))
		})
		s.Step("the 65535 image, at the boundary, pulls fine and its file lands on the mapped id", func() {
			s.Run("docker", "pull", edge)
			want := s.uidMap().host(65535)
			got := s.imageFileOwner(edge, "/data/owned")
			s.Check(got == want+":"+want, "host owner "+want+":"+want, got)
		})
		s.Step(fmt.Sprintf("the operator runs docker userns enable --size %d agent, as check-image suggested", suggested), func() {
			// No --force: the ranges to replace are the ones the first enable added.
			s.Run("docker", "userns", "enable", "--size", fmt.Sprint(suggested), "agent")
			uidMap := s.uidMap()
			s.Check(uint64(uidMap.size()) == suggested, fmt.Sprintf("a container's uid_map maps %d ids", suggested), uidMap.String())
		})
		s.Step("the same pull now succeeds and the file's host owner is container id 70000 through the map", func() {
			s.Run("docker", "pull", high)
			want := s.uidMap().host(70000)
			s.Check(want != "", "id 70000 in the uid_map", s.uidMap().String())
			got := s.imageFileOwner(high, "/data/owned")
			s.Check(got == want+":"+want, "host owner "+want+":"+want, got)
		})
	})
}

// idMap is a /proc/PID/uid_map as the kernel gives it to a container.
type idMap [][3]uint64

// uidMap reads the uid_map of a fresh container from the DinD host's /proc:
// the kernel's answer, not a file the plugin wrote.
func (s *scenario) uidMap() idMap {
	s.t.Helper()
	id := s.Run("docker", "run", "-d", "busybox", "sleep", "600")
	defer s.Run("docker", "rm", "-f", id)
	pid := s.Run("docker", "inspect", "-f", "{{.State.Pid}}", id)
	text := s.Run("cat", "/proc/"+pid+"/uid_map")
	var m idMap
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			s.Fail("uid_map lines of three numbers", text)
		}
		var l [3]uint64
		for i := range f {
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				s.Fail("uid_map lines of three numbers", text)
			}
			l[i] = n
		}
		m = append(m, l)
	}
	return m
}

// size is how many container ids the map covers.
func (m idMap) size() uint64 {
	var n uint64
	for _, l := range m {
		n += l[2]
	}
	return n
}

// host is the host id of container id c, "" when unmapped.
func (m idMap) host(c uint64) string {
	for _, l := range m {
		if c >= l[0] && c < l[0]+l[2] {
			return fmt.Sprint(l[1] + c - l[0])
		}
	}
	return ""
}

func (m idMap) String() string {
	lines := make([]string, len(m))
	for i, l := range m {
		lines[i] = fmt.Sprintf("%d %d %d", l[0], l[1], l[2])
	}
	return strings.Join(lines, " / ")
}

// imageFileOwner is the host "uid:gid" of path in the top layer of the
// one-layer image ref, found in the daemon's storage on the DinD host.
func (s *scenario) imageFileOwner(ref, path string) string {
	s.t.Helper()
	dir := s.Run("docker", "image", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", ref)
	s.Check(strings.HasPrefix(dir, "/"), "the overlay2 directory of "+ref, dir)
	return s.Owner(dir + path)
}
