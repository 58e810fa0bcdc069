package remap

import (
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// The containerd image store and userns-remap do not mix (moby issue
// #47377). Confirmed in DinD on Docker 28.5.2 with "features":
// {"containerd-snapshotter": true} and userns-remap: dockerd starts,
// `docker info` shows driver-type io.containerd.snapshotter.v1 and
// name=userns, `docker run` maps as asked, and every BuildKit RUN step fails
// with `error mounting "proc" to rootfs at "/proc": mkdirat
// <data-root>/<uid>.<gid>/buildkit/executor/.../rootfs/proc: permission
// denied`; the legacy builder works, and BuildKit works on overlay2. The
// store lives under <data-root>/containerd, which moves with the data root:
// the images made before are not listed, as with a graph driver.
//
// Docker 29 (moby daemon/command/daemon_linux.go, setPlatformOptions, at
// docker-v29.7.1 and v2.0.0-beta.24 = 29.8.1; PR #51042) refuses to start
// when the snapshotter is explicitly enabled with remapping, and otherwise
// sets the feature to false, so the remapped daemon runs on a graphdriver
// (daemon/image_store_choice.go, determineImageStoreChoice: an explicit
// false is "graphdriver-explicit"). Its default store, containerd, is then
// only out of view, as a data root left behind is; with remapping off the
// unremapped data root gets it back.

// Feature names of daemon.json's "features".
const (
	// containerdSnapshotter is the feature of the containerd store.
	containerdSnapshotter = "containerd-snapshotter"
	// containerdMigration moves a graphdriver data root without containers
	// to the containerd store at start (Docker 29).
	containerdMigration = "containerd-migration"
)

// storageDriver is daemon.json's key for the graphdriver (or, with the
// containerd store, the snapshotter).
const storageDriver = "storage-driver"

// anyGraphdriver is a store a daemon picks at start among its graphdrivers.
const anyGraphdriver = "a graphdriver"

// firstSnapshotterGuard is the first Docker major that guards the pair
// itself, and whose default store is containerd.
const firstSnapshotterGuard = 29

// firstSnapshotterFeature is the first Docker major that reads the feature
// (an experiment from 24.0); older daemons ignore the key.
const firstSnapshotterFeature = 24

// graphdrivers are Docker 29's Linux graphdrivers in the order it tries
// them (daemon/graphdriver/driver_linux.go, priority, at v2.0.0-beta.24).
var graphdrivers = []string{"overlay2", "fuse-overlayfs", "btrfs", "zfs", "vfs"}

// StoreSwitch is the daemon's image store now and once remapping is turned
// on or off: containerd, a graphdriver's name, or anyGraphdriver.
type StoreSwitch struct {
	Now   string `json:"now"`
	After string `json:"after"`
	// Remapping is "on" or "off": the change the store follows.
	Remapping string `json:"remapping"`
	// Version is the daemon's, whose rules give After.
	Version string `json:"version"`
}

// Changes is true when the store is not the same after the switch.
func (s StoreSwitch) Changes() bool { return s.After != s.Now }

// String says what the switch does to the store, in one line.
func (s StoreSwitch) String() string {
	switch {
	case !s.Changes():
		return fmt.Sprintf("the image store stays %s with remapping %s", s.Now, s.Remapping)
	case s.Remapping == "on":
		return fmt.Sprintf("the image store changes from %s to %s: Docker %s turns the containerd image store off under userns-remap; its images stay there, out of view until remapping is disabled",
			s.Now, s.After, s.Version)
	default:
		return fmt.Sprintf("the image store changes from %s back to %s: the images kept there before remapping are in view again", s.Now, s.After)
	}
}

// Short is the store now and after, for a status line: "containerd (a
// graphdriver with remapping on)".
func (s StoreSwitch) Short() string {
	after := s.After
	if !s.Changes() {
		after = "the same"
	}
	return fmt.Sprintf("%s (%s with remapping %s)", s.Now, after, s.Remapping)
}

// storeSwitch is what turning remapping on (for an unremapped daemon) or
// off (for a remapped one) does to the daemon's image store.
func storeSwitch(root hostfs.Root, state daemon.State, cfg *daemonconfig.Config) StoreSwitch {
	s := StoreSwitch{Now: state.ImageStore, Version: state.Version, Remapping: "on"}
	if state.Remapped {
		s.Remapping = "off"
		s.After = storeUnremapped(root, state, cfg)
	} else {
		s.After = storeRemapped(state, cfg)
	}
	return s
}

// sayStoreSwitch tells a switch that changes the store, and returns it
// (nil when the store stays).
func sayStoreSwitch(env Env, sw StoreSwitch) *StoreSwitch {
	if !sw.Changes() {
		return nil
	}
	env.say("WARNING: %s", sw)
	return &sw
}

// storeRemapped is the store of the daemon once remapped (enable refuses
// the cases where it would not start: imageStoreConflict).
func storeRemapped(state daemon.State, cfg *daemonconfig.Config) string {
	if !atLeast(state.Version, firstSnapshotterGuard) || state.ImageStore != daemon.ContainerdStore {
		return state.ImageStore
	}
	if d, set, _ := cfg.String(storageDriver); set && slices.Contains(graphdrivers, d) {
		return d
	}
	return anyGraphdriver
}

// storeUnremapped is the store of a remapped daemon once remapping is off,
// as dockerd chooses it at start (Docker 29: determineImageStoreChoice).
func storeUnremapped(root hostfs.Root, state daemon.State, cfg *daemonconfig.Config) string {
	explicit, set, _ := cfg.Feature(containerdSnapshotter)
	switch {
	case !atLeast(state.Version, firstSnapshotterFeature):
		return state.ImageStore
	case !atLeast(state.Version, firstSnapshotterGuard):
		if set && explicit {
			return daemon.ContainerdStore
		}
		return state.ImageStore
	case set && explicit:
		return daemon.ContainerdStore
	case set:
		return state.ImageStore
	}
	if d, set, _ := cfg.String(storageDriver); set && slices.Contains(graphdrivers, d) {
		return d
	}
	// A data root that holds a graphdriver's directory keeps it
	// ("graphdriver-prior", graphdriver.HasPriorDriver: any but vfs).
	unremapped := path.Dir(state.DataRoot)
	for _, d := range graphdrivers {
		if d != "vfs" && len(glob(root, path.Join(unremapped, d, "*"))) > 0 {
			return d
		}
	}
	return daemon.ContainerdStore
}

// glob is root.Glob with nothing for what cannot be read.
func glob(root hostfs.Root, pattern string) []string {
	m, _ := root.Glob(pattern)
	return m
}

// storeConflict is why enable refuses a daemon for its image store: the
// reason and the fix, each a clause.
type storeConflict struct{ reason, fix string }

func (c *storeConflict) Error() string { return c.reason + ": " + c.fix + ", or pass --force" }

// imageStoreConflict says what turning remapping on would break on this
// daemon with this daemon.json; nil when nothing.
func imageStoreConflict(state daemon.State, cfg *daemonconfig.Config) error {
	explicit, set, err := cfg.Feature(containerdSnapshotter)
	if err != nil {
		return err
	}
	explicit = explicit && set && atLeast(state.Version, firstSnapshotterFeature)
	if atLeast(state.Version, firstSnapshotterGuard) {
		return guardedConflict(state, cfg, explicit)
	}
	inUse := state.ImageStore == daemon.ContainerdStore
	if !inUse && !explicit {
		return nil
	}
	where := "the daemon keeps its images in the containerd image store"
	if explicit {
		where = fmt.Sprintf("%s enables the containerd image store (features.%s)", cfg.Path(), containerdSnapshotter)
	}
	return &storeConflict{
		reason: fmt.Sprintf("%s: with userns-remap every BuildKit RUN step fails (moby issue #47377) and the %d images there are not visible", where, state.Images),
		fix:    featureOff(cfg, containerdSnapshotter, "its images are not carried over"),
	}
}

// guardedConflict is imageStoreConflict for Docker 29 and newer, which
// turns the containerd store off under remapping by itself: what is left
// is a daemon.json with which it would not start, or would start on the
// containerd store all the same.
func guardedConflict(state daemon.State, cfg *daemonconfig.Config, explicit bool) error {
	if explicit {
		return &storeConflict{
			reason: fmt.Sprintf("%s enables the containerd image store (features.%s): Docker %s refuses to start with it and userns-remap (moby issue #47377)", cfg.Path(), containerdSnapshotter, state.Version),
			fix:    featureOff(cfg, containerdSnapshotter, "its images are not carried over"),
		}
	}
	// daemon/daemon.go, NewDaemon, at v2.0.0-beta.24: with the migration
	// feature, a graphdriver data root without containers and with images
	// of 0 bytes in all (a new remapped root has none) switches to the
	// containerd store; setPlatformOptions has turned off only the
	// snapshotter feature, so the remapped daemon starts on the store that
	// breaks BuildKit.
	if on, set, err := cfg.Feature(containerdMigration); err != nil {
		return err
	} else if on && set {
		return &storeConflict{
			reason: fmt.Sprintf("%s sets features.%s: Docker %s would move the remapped daemon's new data root to the containerd image store, where every BuildKit RUN step fails under userns-remap (moby issue #47377)", cfg.Path(), containerdMigration, state.Version),
			fix:    featureOff(cfg, containerdMigration, "it migrates nothing once the data root holds images"),
		}
	}
	// determineImageStoreChoice: with the feature set false, a driver that
	// is not a graphdriver stops the start ("graphdriver is explicitly
	// enabled but %q is not registered").
	if d, set, err := cfg.String(storageDriver); err != nil {
		return err
	} else if set && !slices.Contains(graphdrivers, d) {
		return &storeConflict{
			reason: fmt.Sprintf("%s sets %s %q, not a graphdriver: Docker %s uses a graphdriver under userns-remap and would not start", cfg.Path(), storageDriver, d, state.Version),
			fix:    fmt.Sprintf("remove %s from %s or set it to overlay2 first", storageDriver, cfg.Path()),
		}
	}
	return nil
}

// featureOff is the fix that turns a feature off, with a note on what that
// costs.
func featureOff(cfg *daemonconfig.Config, feature, note string) string {
	return fmt.Sprintf(`set "features": {%q: false} in %s first (%s)`, feature, cfg.Path(), note)
}

// imageStoreCheck is doctor's view: the store now and once remapping is
// switched; a FAIL when remapping is set or on and the store conflicts, a
// WARN when enable would refuse.
func imageStoreCheck(root hostfs.Root, state daemon.State, cfg *daemonconfig.Config, remapSet bool, add addFunc) {
	const check = "image store"
	sw := storeSwitch(root, state, cfg)
	var err error
	if !state.Remapped || state.ImageStore == daemon.ContainerdStore {
		err = imageStoreConflict(state, cfg)
	}
	var conflict *storeConflict
	switch {
	case err == nil:
		add(check, Pass, sw.String(), "")
	case !errors.As(err, &conflict):
		add(check, Fail, err.Error(), "")
	case remapSet || state.Remapped:
		add(check, Fail, conflict.reason, conflict.fix+" and restart the daemon")
	default:
		add(check, Warn, "enable will refuse: "+conflict.reason, conflict.fix)
	}
}

// atLeast reports whether a daemon version's major is major or more.
func atLeast(version string, major int) bool {
	n, _ := daemon.MajorVersion(version)
	return n >= major
}
