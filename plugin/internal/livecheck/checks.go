package livecheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// mappedMessage is the daemon's refusal of an id past the map, capitalised
// up to Docker 24 and lower case after.
const mappedMessage = "cannot be mapped to a host id"

// withProbe runs the checks that need a probe container, from one probe
// image removed afterwards.
func (r *runner) withProbe(ctx context.Context) {
	img, err := probe.BuildSmall(ctx, r.env.API, r.env.Binary)
	if err != nil {
		r.run(CheckIDMap, func() Check { return failed("a probe container runs", err) })
		for _, name := range []string{CheckBindOwner, CheckRootOnly} {
			r.run(name, func() Check {
				if r.report.HostFilesError != "" {
					return r.needsHost("a probe container runs")
				}
				return failed("a probe container runs", err)
			})
		}
		return
	}
	defer func() { r.cleanup(img.Remove(context.WithoutCancel(ctx))) }()
	r.run(CheckIDMap, func() Check { return r.idMapCheck(ctx, img) })
	r.run(CheckBindOwner, func() Check { return r.bindOwnerCheck(ctx, img) })
	r.run(CheckRootOnly, func() Check { return r.rootOnlyCheck(ctx, img) })
}

// idMapCheck compares the probe's /proc/self/uid_map and gid_map with the
// map computed from the host files.
func (r *runner) idMapCheck(ctx context.Context, img probe.Image) Check {
	c := Check{Expected: "the map of the host files"}
	if r.exp != nil {
		c.Expected = fmt.Sprintf("uid %s; gid %s (%s)", r.exp.UIDMap, r.exp.GIDMap, r.exp.describe())
	}
	res, err := img.Run(ctx, probe.RunOptions{Args: []string{"idmap"}})
	if err != nil {
		return failed(c.Expected, err)
	}
	if res.ExitCode != 0 {
		return failed(c.Expected, fmt.Errorf("probe idmap exited %d: %s", res.ExitCode, strings.TrimSpace(res.Stderr)))
	}
	maps, err := probe.DecodeIDMaps(res.Stdout)
	if err != nil {
		return failed(c.Expected, err)
	}
	uids, err := idmap.Parse(maps.UIDMap)
	if err != nil {
		return failed(c.Expected, err)
	}
	gids, err := idmap.Parse(maps.GIDMap)
	if err != nil {
		return failed(c.Expected, err)
	}
	c.Observed = fmt.Sprintf("uid %s; gid %s", uids, gids)
	if r.report.HostFilesError != "" {
		c = r.needsHost(c.Expected)
		c.Observed += fmt.Sprintf(" (the daemon maps uid %s; gid %s)", uids, gids)
		return c
	}
	if r.exp == nil {
		c.Expected = r.noExpectation("a map")
		return c
	}
	c.OK = sameMap(r.exp.UIDMap, uids) && sameMap(r.exp.GIDMap, gids)
	return c
}

// bindOwnerCheck has container root write into a temporary directory
// bind-mounted from the host and looks at the new file's owner on the host.
func (r *runner) bindOwnerCheck(ctx context.Context, img probe.Image) Check {
	c := Check{Expected: "owned by the host user of container root (from the host files)"}
	if r.exp != nil {
		c.Expected = fmt.Sprintf("owned by %s on the host", r.exp.rootOwner())
	}
	return r.inHostDir(c.Expected, "docker-userns-test-bind-*", 0o777, func(dir hostDir) Check {
		res, err := img.Run(ctx, probe.RunOptions{Args: []string{"write", "/mnt/out"}, Binds: []string{dir.onHost + ":/mnt"}})
		if err != nil {
			return failed(c.Expected, err)
		}
		if res.ExitCode != 0 {
			return failed(c.Expected, fmt.Errorf("container root could not write into %s: exit %d: %s", dir.onHost, res.ExitCode, strings.TrimSpace(res.Stderr)))
		}
		uid, gid, err := owner(filepath.Join(dir.path, "out"))
		if err != nil {
			return failed(c.Expected, err)
		}
		c.Observed = fmt.Sprintf("owned by %d:%d on the host", uid, gid)
		if r.exp == nil {
			c.Expected = r.noExpectation("an owner")
			return c
		}
		c.OK = uid == r.exp.RootUID() && gid == r.exp.RootGID()
		return c
	})
}

// rootOnlyCheck mounts a directory holding a 0600 file of host root and
// has container root read it: remapped root is nobody to that file.
func (r *runner) rootOnlyCheck(ctx context.Context, img probe.Image) Check {
	c := Check{Expected: "container root cannot read a 0600 file of host root: permission denied"}
	return r.inHostDir(c.Expected, "docker-userns-test-secret-*", 0o755, func(dir hostDir) Check {
		secret := filepath.Join(dir.path, "secret")
		if err := r.writeRootOnly(ctx, img, dir); err != nil {
			return failed(c.Expected, err)
		}
		if uid, _, err := owner(secret); err != nil {
			return failed(c.Expected, err)
		} else if uid != 0 {
			return failed(c.Expected, fmt.Errorf("make a root-only file: %s is owned by uid %d", secret, uid))
		}
		res, err := img.Run(ctx, probe.RunOptions{Args: []string{"read", "/mnt/secret"}, Binds: []string{dir.onHost + ":/mnt:ro"}})
		if err != nil {
			return failed(c.Expected, err)
		}
		stderr := strings.TrimSpace(res.Stderr)
		switch {
		case res.ExitCode == 0:
			c.Observed = fmt.Sprintf("read %d bytes: the root-only file is readable", len(res.Stdout))
		case strings.Contains(stderr, "permission denied"):
			c.Observed = stderr
			c.OK = true
		default:
			c.Observed = fmt.Sprintf("exit %d: %s", res.ExitCode, stderr)
		}
		return c
	})
}

// writeRootOnly makes dir/secret, mode 0600, owned by host root: directly
// when running as root (also in a helper container), else from a probe
// that opts out of remapping.
func (r *runner) writeRootOnly(ctx context.Context, img probe.Image, dir hostDir) error {
	secret := filepath.Join(dir.path, "secret")
	if os.Geteuid() == 0 {
		if err := os.WriteFile(secret, []byte("only host root may read this\n"), 0o600); err != nil {
			return fmt.Errorf("make a root-only file: %w", err)
		}
		return nil
	}
	res, err := img.Run(ctx, probe.RunOptions{Args: []string{"write", "/mnt/secret", "0600"}, Binds: []string{dir.onHost + ":/mnt"}, UsernsMode: "host", User: "0:0"})
	if err != nil {
		return fmt.Errorf("make a root-only file: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("make a root-only file %s with a --userns=host probe: exit %d: %s", secret, res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return nil
}

// boundaryCheck imports an image with a file at the highest mapped uid,
// which must load, and one at the next uid, which the daemon must refuse.
func (r *runner) boundaryCheck(ctx context.Context) Check {
	if r.report.HostFilesError != "" {
		return r.needsHost("the highest uid the host files map loads; the next is refused")
	}
	if r.exp == nil {
		return Check{Expected: r.noExpectation("a map size"), Observed: "not tried"}
	}
	uids, gids := r.exp.UIDs(), r.exp.GIDs()
	last, next, lastGID := uids-1, uids, gids-1
	c := Check{Expected: fmt.Sprintf("%d uids mapped: a file of uid %d loads; uid %d is refused: container ID %d cannot be mapped to a host ID", uids, last, next, next)}

	var observed []string
	lastOK := false
	if img, err := probe.BuildSmall(ctx, r.env.API, r.env.Binary, boundaryFile(last, lastGID)); err != nil {
		observed = append(observed, fmt.Sprintf("uid %d refused: %s", last, daemonMessage(err)))
	} else {
		lastOK = true
		observed = append(observed, fmt.Sprintf("uid %d loaded", last))
		r.cleanup(img.Remove(context.WithoutCancel(ctx)))
	}
	nextOK := false
	if img, err := probe.BuildSmall(ctx, r.env.API, r.env.Binary, boundaryFile(next, lastGID)); err != nil {
		msg := daemonMessage(err)
		observed = append(observed, fmt.Sprintf("uid %d refused: %s", next, msg))
		nextOK = strings.Contains(strings.ToLower(msg), fmt.Sprintf("id %d %s", next, mappedMessage))
	} else {
		observed = append(observed, fmt.Sprintf("uid %d loaded", next))
		r.cleanup(img.Remove(context.WithoutCancel(ctx)))
	}
	c.Observed = strings.Join(observed, "; ")
	c.OK = lastOK && nextOK
	return c
}

// noExpectation is the expected column when the host files predict nothing.
func (r *runner) noExpectation(what string) string {
	return fmt.Sprintf("%s from the host files, which give none: %s", what, r.report.ExpectationError)
}

func boundaryFile(uid, gid uint64) probe.File {
	return probe.File{Path: "/boundary", UID: int(uid), GID: int(gid), Mode: 0o644, Content: []byte("owned by the id at the edge of the map\n")}
}

// daemonMessage is the daemon's own text inside a probe build error.
func daemonMessage(err error) string {
	if inner := errors.Unwrap(err); inner != nil {
		return inner.Error()
	}
	return err.Error()
}

func sameMap(want, got idmap.Map) bool { return want.Equal(got) }

// rootOwner names the host owner of container root: uid:gid, and the user
// when container root is the user itself (not so in the isolated layout).
func (e Expectation) rootOwner() string {
	if e.RootUID() == e.User.UID {
		return fmt.Sprintf("%d:%d (%s)", e.RootUID(), e.RootGID(), e.User.User)
	}
	return fmt.Sprintf("%d:%d (first subordinate ids of %s)", e.RootUID(), e.RootGID(), e.User.User)
}
