package imagefit

// How many container ids a daemon maps, from the host's /etc/subuid and
// /etc/subgid (looked up under a root directory), to judge images against.
// It reads; it never writes.

import (
	"errors"
	"fmt"
	"path"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// ErrUnknown means the mapping in force could not be learned.
var ErrUnknown = errors.New("unknown mapping; pass --size")

// ForUser sums the subordinate ranges of spec (USER[:GROUP], numeric or by
// name, or "default" for dockremap) as a daemon of the version reads them
// (idmap): the user's lines in both files; the group plays no part.
func ForUser(root, spec, daemonVersion string) (imagescan.Mapping, error) {
	host, err := readHost(root)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	parsed, err := remapspec.Parse(spec)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	ident, err := parsed.Resolve(host.accounts)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	rule, owner := idmap.RuleFor(daemonVersion), idmap.Owner{Name: ident.User, UID: ident.UID, Known: ident.Exists}
	uids, gids := rule.Of(host.subuid, owner).Size(), rule.Of(host.subgid, owner).Size()
	if uids == 0 || gids == 0 {
		return imagescan.Mapping{}, fmt.Errorf("read ranges of %s: none in /etc/subuid or /etc/subgid under %s", spec, root)
	}
	return imagescan.Mapping{Remapped: true, UIDs: uids, GIDs: gids, From: "/etc/subuid and /etc/subgid for " + spec, DaemonVersion: daemonVersion}, nil
}

// ForDaemon learns the mapping a running daemon uses from what `docker
// info` says (SecurityOptions has name=userns only when remapping is on,
// and the data root ends in "<uid>.<gid>", the host ids of container root)
// and the host files under root: the line that starts at container root's
// uid is the remap user's first.
func ForDaemon(securityOptions []string, dockerRootDir, daemonVersion, root string) (imagescan.Mapping, error) {
	if !daemon.RemapsIn(securityOptions) {
		return imagescan.Mapping{Remapped: false, From: "docker info", DaemonVersion: daemonVersion}, nil
	}
	var uid, gid uint32
	if _, err := fmt.Sscanf(path.Base(dockerRootDir), "%d.%d", &uid, &gid); err != nil {
		return imagescan.Mapping{}, fmt.Errorf("%w (data root %s is not named uid.gid)", ErrUnknown, dockerRootDir)
	}
	host, err := readHost(root)
	if err != nil {
		return imagescan.Mapping{}, fmt.Errorf("%w (%v)", ErrUnknown, err)
	}
	user, err := ownerStartingAt(host.subuid, uid)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	// The group of the setting is not needed: subgid is read by the user.
	m, err := ForUser(root, user, daemonVersion)
	if err != nil {
		return imagescan.Mapping{}, fmt.Errorf("%w (%v)", ErrUnknown, err)
	}
	return m, nil
}

type hostFiles struct {
	accounts       *accounts.DB
	subuid, subgid *subid.File
}

func readHost(dir string) (hostFiles, error) {
	root, err := hostfs.Open(dir)
	if err != nil {
		return hostFiles{}, err
	}
	var h hostFiles
	if h.accounts, err = accounts.Load(root); err != nil {
		return h, err
	}
	if h.subuid, err = subid.Load(root, "/etc/subuid"); err != nil {
		return h, err
	}
	h.subgid, err = subid.Load(root, "/etc/subgid")
	return h, err
}

func ownerStartingAt(f *subid.File, start uint32) (string, error) {
	for _, r := range f.Ranges() {
		if r.Start == start {
			return r.Owner, nil
		}
	}
	return "", fmt.Errorf("%w (no range in %s starts at %d, container root's host id)", ErrUnknown, f.Path(), start)
}
