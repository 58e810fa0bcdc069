package remap

import (
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerversion"
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
// the images made before are not listed, as with a graph driver. Docker 29
// (daemon/command/daemon_linux.go at docker-v29.0.0) refuses to start when
// the snapshotter is explicitly enabled with remapping, and turns it off
// when it is only on by default.

// containerdSnapshotter is the daemon.json feature of the containerd store.
const containerdSnapshotter = "containerd-snapshotter"

// firstSnapshotterGuard is the first Docker major that guards the pair itself.
const firstSnapshotterGuard = 29

// firstSnapshotterFeature is the first Docker major that reads the feature
// (an experiment from 24.0); older daemons ignore the key.
const firstSnapshotterFeature = 24

// imageStoreConflict says what turning remapping on would break on this
// daemon with this daemon.json; nil when nothing.
func imageStoreConflict(state daemon.State, cfg *daemonconfig.Config) error {
	explicit, set, err := cfg.Feature(containerdSnapshotter)
	if err != nil {
		return err
	}
	explicit = explicit && set && atLeast(state.Version, firstSnapshotterFeature)
	inUse := state.ImageStore == daemon.ContainerdStore
	if !inUse && !explicit {
		return nil
	}
	fix := fmt.Sprintf(`set "features": {%q: false} in %s first (its images are not carried over), or pass --force`, containerdSnapshotter, cfg.Path())
	guarded := atLeast(state.Version, firstSnapshotterGuard)
	switch {
	case explicit && guarded:
		return fmt.Errorf("%s enables the containerd image store (features.%s): Docker %s refuses to start with it and userns-remap (moby issue #47377): %s",
			cfg.Path(), containerdSnapshotter, state.Version, fix)
	case guarded:
		return fmt.Errorf("the daemon keeps its %d images in the containerd image store, which Docker %s turns off under userns-remap: they are not visible until remapping is off; pass --force to go on",
			state.Images, state.Version)
	default:
		where := "the daemon keeps its images in the containerd image store"
		if explicit {
			where = fmt.Sprintf("%s enables the containerd image store (features.%s)", cfg.Path(), containerdSnapshotter)
		}
		return fmt.Errorf("%s: with userns-remap every BuildKit RUN step fails (moby issue #47377) and the %d images there are not visible: %s",
			where, state.Images, fix)
	}
}

// imageStoreCheck is doctor's view: a FAIL when remapping is set or on with
// the containerd image store, a WARN when enable would refuse.
func imageStoreCheck(state daemon.State, cfg *daemonconfig.Config, remapSet bool, add addFunc) {
	const check = "image store"
	err := imageStoreConflict(state, cfg)
	switch {
	case err == nil:
		add(check, Pass, state.ImageStore+": BuildKit builds work under remapping", "")
	case remapSet || state.Remapped:
		add(check, Fail, err.Error(), fmt.Sprintf(`set "features": {%q: false} in %s and restart the daemon`, containerdSnapshotter, cfg.Path()))
	default:
		add(check, Warn, "enable will refuse: "+err.Error(), fmt.Sprintf(`set "features": {%q: false} in %s before enable`, containerdSnapshotter, cfg.Path()))
	}
}

// atLeast reports whether a daemon version's major is major or more.
func atLeast(version string, major int) bool {
	n, _ := dockerversion.Major(version)
	return n >= major
}
