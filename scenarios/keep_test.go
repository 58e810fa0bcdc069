package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness/fixtureimage"
)

// keepImages are the images of the keep scenario: busybox, and one whose
// only file is owned by 70000:70000, past a default range.
var keepImages = []string{"busybox:latest", "fixture/high:1"}

// TestKeepImagesAndVolumes: enable and disable with --keep-images and
// --keep-volumes carry a host's images and a named volume across the switch
// of data root, both ways; the volume's files come out owned through the
// new map (container root's files are agent's), a container of the new
// daemon reads them and writes new ones, and the old root keeps its copies.
func TestKeepImagesAndVolumes(t *testing.T) {
	forEachHost(t, "Keep: enable and disable --keep-images --keep-volumes carry two images (one with a uid-70000 file) and a named volume both ways, owners shifted", func(s *scenario) {
		var ids, layers, dangling string
		s.Step("a fresh unremapped host has busybox, an image with a file of uid 70000, and a volume a container wrote", func() {
			s.Start()
			s.ImportBusybox()
			img, err := fixtureimage.Image(fixtureimage.File{Path: "/data/owned", UID: 70000, GID: 70000})
			if err != nil {
				s.Fail("the fixture image builds", err.Error())
			}
			if err := s.d.LoadImage(s.ctx, keepImages[1], img); err != nil {
				s.Fail("the fixture image loads into the unremapped daemon", err.Error())
			}
			s.Run("docker", "tag", "busybox:latest", "fixture/moves:1")
			ids, layers, dangling = s.imageIDs(), s.imageLayers(), s.Run("docker", "images", "-q", "--no-trunc", "--filter", "dangling=true")
			s.Run("docker", "volume", "create", "--label", "app=db", "data")
			s.Run("docker", "run", "--rm", "-v", "data:/data", "busybox", "sh", "-c",
				"echo rows > /data/db && chmod 600 /data/db && mkdir /data/sub && echo x > /data/sub/f && chown -R 1000:1000 /data/sub")
		})
		createAgent(s)
		s.Step("enable --keep-images with the default range refuses, naming the uid-70000 image, and writes nothing", func() {
			res := s.Try("docker", "userns", "enable", "--keep-images", "agent")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, "fixture/high:1") && strings.Contains(res.Stderr, "uid 70000"),
				"exit non-zero naming fixture/high:1 and its uid 70000", describe(res))
			s.Check(!s.Remapped(), "the daemon still unremapped", "it remaps")
			s.Check(s.Try("grep", "-q", "^agent:", "/etc/subuid").ExitCode != 0, "no range written for agent", s.Run("cat", "/etc/subuid"))
		})
		var oldVolume string
		s.Step("enable --keep-images --keep-volumes --size 131072 agent remaps and says what it carried", func() {
			oldVolume = s.Run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}", "data")
			out := s.Run("docker", "userns", "enable", "--keep-images", "--keep-volumes", "--size", "131072", "agent")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			for _, want := range []string{"carried      image   busybox:latest", "carried      image   fixture/high:1", "carried      volume  data"} {
				s.Check(strings.Contains(out, want), "the output says "+want, out)
			}
		})
		s.Step("status names the unremapped root left behind with what it holds (Docker 29: its containerd store's images, said but not counted)", func() {
			want := "/var/lib/docker: 2 images, 0 containers and 1 volume"
			if defaultStoreIsContainerd(s) {
				want = "/var/lib/docker: images in its containerd store (not counted), 0 containers and 1 volume"
			}
			out := s.Run("docker", "userns", "status")
			s.Check(strings.Contains(out, "Other data root:    "+want+" (out of the daemon's view)"), want, out)
		})
		s.Step("the images list the same in the remapped data root (by id, unless the store changed) and run", func() {
			if defaultStoreIsContainerd(s) {
				// The containerd store lists an image by its manifest's
				// digest, the graphdriver by its config's.
				s.Check(s.imageLayers() == layers, layers, s.imageLayers())
			} else {
				s.Check(s.imageIDs() == ids, ids, s.imageIDs())
			}
			s.Check(s.Run("docker", "run", "--rm", "busybox", "echo", "runs") == "runs", "busybox runs", "")
			want := s.uidMap().host(70000)
			got := s.imageFileOwner(keepImages[1], "/data/owned")
			s.Check(got == want+":"+want, "the uid-70000 file on host "+want+":"+want, got)
		})
		s.Step("the volume keeps its label, a container reads its files, and on the host they are owned through the new map", func() {
			s.Check(s.Run("docker", "volume", "inspect", "-f", "{{.Labels.app}}", "data") == "db", "label app=db", s.Run("docker", "volume", "inspect", "data"))
			s.Check(s.Run("docker", "run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/db") == "rows", "/data/db reads rows", "")
			dir := s.Run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}", "data")
			s.Check(dir != oldVolume, "a directory in the remapped data root", dir)
			agent, m := s.IDs("agent"), s.uidMap()
			s.Check(s.Owner(dir+"/db") == agent, "db (container root's) owned by agent "+agent, s.Owner(dir+"/db"))
			sub := m.host(1000) + ":" + m.host(1000)
			s.Check(s.Owner(dir+"/sub/f") == sub, "sub/f (container uid 1000) owned by "+sub, s.Owner(dir+"/sub/f"))
			s.Check(s.Run("stat", "-c", "%a", dir+"/db") == "600", "db keeps mode 600", s.Run("stat", "-c", "%a", dir+"/db"))
		})
		s.Step("a container writes a new file into the volume: it is agent's on the host; the old root still holds the original", func() {
			s.Run("docker", "run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo new > /data/new")
			dir := s.Run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}", "data")
			s.Check(s.Owner(dir+"/new") == s.IDs("agent"), "new owned by agent", s.Owner(dir+"/new"))
			s.Check(s.Owner(oldVolume+"/db") == "0:0" && s.Try("test", "-e", oldVolume+"/new").ExitCode != 0,
				"the old root's db still root's, without new", s.Run("ls", "-ln", oldVolume))
		})
		s.Step("while remapped, busybox gets a new tag, fixture/new:1, and fixture/moves:1 (busybox before) is moved onto fixture/high:1", func() {
			s.Run("docker", "tag", "busybox:latest", "fixture/new:1")
			s.Run("docker", "tag", "fixture/high:1", "fixture/moves:1")
		})
		s.Step("disable --keep-images --keep-volumes turns remapping off, carries them back and says the old root's content is visible again", func() {
			out := s.Run("docker", "userns", "disable", "--keep-images", "--keep-volumes")
			s.Check(!s.Remapped(), "docker info without name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.Check(strings.Contains(out, "carried      volume  data"), "the output says the volume was carried", out)
			for _, want := range []string{
				"carried      image   busybox:latest, fixture/new:1 (",
				"carried      image   fixture/high:1, fixture/moves:1 (",
				": already there, unchanged: busybox:latest kept as it was (same id)\n",
				": already there, unchanged: fixture/high:1 kept as it was (same id); changed while in the other data root: fixture/moves:1 now names the image carried, as docker load does\n",
			} {
				s.Check(strings.Contains(out, want), "the output says "+want, out)
			}
			// Counted before carrying: busybox, fixture/high:1 and data as they
			// were; the remapped root holds only what was carried into it.
			s.Check(strings.Contains(out, "The daemon's data root is /var/lib/docker again: its 2 images, 0 containers and 1 volume from before remapping are visible again.") &&
				!strings.Contains(out, "Made while remapped"), "the output says the old root's 2 images and 1 volume are visible again, nothing made while remapped", out)
		})
		s.Step("back in the old data root: the same images, and the volume holds what was written while remapped, owned as containers wrote it", func() {
			// The images unchanged while remapped keep their ids, also in
			// the containerd store (where a load of the graphdriver's save
			// would re-point each tag to another manifest and leave the
			// earlier one dangling), and no image is left dangling.
			s.Check(s.imageIDs() == ids, ids, s.imageIDs())
			got := s.Run("docker", "images", "-q", "--no-trunc", "--filter", "dangling=true")
			s.Check(got == dangling, "the dangling images of before: "+dangling, got)
			// The tag made while remapped is carried, onto busybox's layers.
			bb := s.Run("docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", "busybox:latest")
			s.Check(s.Run("docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", "fixture/new:1") == bb, "fixture/new:1 with busybox's layers "+bb, "")
			high := s.Run("docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", "fixture/high:1")
			s.Check(s.Run("docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", "fixture/moves:1") == high, "fixture/moves:1 moved onto fixture/high:1's layers "+high, "")
			dir := s.Run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}", "data")
			s.Check(dir == oldVolume, "the volume in the old root, "+oldVolume, dir)
			s.Check(s.Run("docker", "run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/new") == "new", "/data/new reads new", "")
			for path, want := range map[string]string{"/db": "0:0", "/new": "0:0", "/sub/f": "1000:1000"} {
				s.Check(s.Owner(dir+path) == want, path+" owned by "+want, s.Owner(dir+path))
			}
		})
		s.Step("enabled again, then again with a wider range (same data root): the range grows in place, nothing is carried and a container still reads the volume's sub as uid 1000", func() {
			s.Run("docker", "userns", "enable", "--keep-volumes", "--size", "131072", "agent")
			first := s.uidMap().host(1)
			out := s.Run("docker", "userns", "enable", "--keep-volumes", "--size", "196608", "agent")
			s.Check(strings.Contains(out, "Nothing carried (the data root did not change"), "the output says nothing was carried", out)
			m := s.uidMap()
			s.Check(m.host(1) == first && m.host(196607) != "", "container uid 1 still on host "+first+", 196608 uids mapped", m.String())
			dir := s.Run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}", "data")
			got := s.Run("ls", dir)
			s.Check(got == "db\nnew\nsub", "db, new and sub in "+dir, got)
			got = s.Run("docker", "run", "--rm", "-v", "data:/data", "busybox", "stat", "-c", "%u:%g", "/data/sub/f")
			s.Check(got == "1000:1000", "/data/sub/f reads as 1000:1000 in a container", got)
		})
		s.Step("a range that cannot grow in place (another line right after it): enable --size 262144 refuses before any change, naming the data root, the old and new map and the volume; --dry-run says the same", func() {
			end, err := strconv.ParseUint(s.uidMap().host(196607), 10, 64)
			if err != nil {
				s.Fail("the map's last host uid", err.Error())
			}
			line := fmt.Sprintf("blocker:%d:10", end+1)
			s.Run("sh", "-c", "echo "+line+" >> /etc/subuid && echo "+line+" >> /etc/subgid")
			files := s.Hashes("/etc/subuid", "/etc/subgid", "/etc/docker/daemon.json")
			root := s.Run("docker", "info", "-f", "{{.DockerRootDir}}")
			res := s.Try("docker", "userns", "enable", "--size", "262144", "agent")
			for _, want := range []string{"data root " + root + " stays while its map changes", fmt.Sprintf(" 1 %d 196607 -> ", end-196606), "1 volume", "--force"} {
				s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, want), "exit non-zero saying "+want, describe(res))
			}
			s.Check(s.Hashes("/etc/subuid", "/etc/subgid", "/etc/docker/daemon.json") == files, "subuid, subgid and daemon.json unchanged", s.Run("cat", "/etc/subuid"))
			res = s.Try("docker", "userns", "enable", "--dry-run", "--size", "262144", "agent")
			s.Check(res.ExitCode == 0 && strings.Contains(res.Stdout+res.Stderr, "enable would refuse: the daemon's data root "+root+" stays while its map changes"), "the dry run says enable would refuse", describe(res))
		})
		s.Step("with --force it goes on and warns; the range moved on the host, and the volume's sub now reads as nobody in a container", func() {
			before := s.uidMap().host(1)
			res := s.Try("docker", "userns", "enable", "--force", "--size", "262144", "agent")
			s.Check(res.ExitCode == 0 && strings.Contains(res.Stdout+res.Stderr, "WARNING: the daemon's data root "), "exit 0 with a warning", describe(res))
			s.Check(s.uidMap().host(1) != before, "container uid 1 no longer on host "+before, s.uidMap().String())
			// The bug the refusal prevents: sub's host owner is outside the new map.
			got := s.Run("docker", "run", "--rm", "-v", "data:/data", "busybox", "stat", "-c", "%u:%g", "/data/sub/f")
			s.Check(got == "65534:65534", "/data/sub/f (uid 1000 before) reads as nobody, 65534:65534", got)
		})
		s.Step("after that forced change of map (the wider range starts elsewhere on the host), sub (container uid 1000 by the earlier range) is outside the map: disable --keep-volumes refuses before any change, naming the volume, /sub and its host owner", func() {
			res := s.Try("docker", "userns", "disable", "--keep-volumes")
			s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, "cannot carry volume data (/sub: host owner ") && strings.Contains(res.Stderr, "outside the daemon's map"),
				"exit non-zero naming volume data, /sub and its host owner outside the map", describe(res))
			s.Check(s.Remapped(), "the daemon still remapped", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
		})
	})
}

// imageIDs is "ref id" of each keep image, one a line: the daemon's answer.
func (s *scenario) imageIDs() string {
	s.t.Helper()
	return s.keepImagesAs("{{.Id}}")
}

// imageLayers is "ref diff-ids created" of each keep image: the same on
// every image store, unlike the id.
func (s *scenario) imageLayers() string {
	s.t.Helper()
	return s.keepImagesAs("{{json .RootFS.Layers}} {{.Created}}")
}

// keepImagesAs is "ref " and the inspect format of each keep image, one a
// line.
func (s *scenario) keepImagesAs(format string) string {
	s.t.Helper()
	var lines []string
	for _, ref := range keepImages {
		lines = append(lines, ref+" "+s.Run("docker", "image", "inspect", "-f", format, ref))
	}
	return strings.Join(lines, "\n")
}
