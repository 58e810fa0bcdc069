package livecheck

import (
	"errors"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
)

// Expectation is what the host files say the daemon should do: the
// userns-remap value, the user it names, and the map dockerd builds from
// that user's subordinate ranges.
type Expectation struct {
	Setting string              `json:"setting"`
	Source  string              `json:"source"`
	User    remapspec.Identity  `json:"user"`
	UIDMap  []rangeplan.MapLine `json:"uidMap"`
	GIDMap  []rangeplan.MapLine `json:"gidMap"`
}

// ErrNoSetting means neither daemon.json nor a dockerd flag sets userns-remap.
var ErrNoSetting = errors.New("no userns-remap set")

// Expect reads the host files under root as dockerd reads them: a dockerd
// flag wins over daemon.json (dockerd refuses both), the value resolves to
// a user and group, and their ranges in /etc/subuid and /etc/subgid make
// the map.
func Expect(root hostfs.Root) (Expectation, error) {
	snap, err := remap.ReadSnapshot(root)
	if err != nil {
		return Expectation{}, err
	}
	var exp Expectation
	if exp.Setting, exp.Source, err = snap.Setting(); err != nil {
		return exp, err
	}
	if exp.Setting == "" {
		return exp, fmt.Errorf("%w in %s nor in dockerd flags", ErrNoSetting, snap.DaemonJSON.Path())
	}
	spec, err := remapspec.Parse(exp.Setting)
	if err != nil {
		return exp, fmt.Errorf("%s: %w", exp.Source, err)
	}
	if exp.User, err = spec.Resolve(snap.Accounts); err != nil {
		return exp, err
	}
	if !exp.User.Exists {
		return exp, fmt.Errorf("resolve %s: user %s does not exist yet (dockerd creates it when it starts remapping)", exp.describe(), exp.User.User)
	}
	uidRanges := snap.SubUID.RangesFor(exp.User.User, exp.User.UID)
	gidRanges := snap.SubGID.RangesFor(exp.User.Group, exp.User.GID)
	if len(uidRanges) == 0 {
		return exp, fmt.Errorf("find ranges of %s: none in %s", exp.User.User, snap.SubUID.Path())
	}
	if len(gidRanges) == 0 {
		return exp, fmt.Errorf("find ranges of %s: none in %s", exp.User.Group, snap.SubGID.Path())
	}
	exp.UIDMap, exp.GIDMap = rangeplan.MapOf(uidRanges), rangeplan.MapOf(gidRanges)
	return exp, nil
}

// RootUID and RootGID are the host ids of container root.
func (e Expectation) RootUID() uint32 { return e.UIDMap[0].Host }
func (e Expectation) RootGID() uint32 { return e.GIDMap[0].Host }

// UIDs and GIDs are how many container ids the maps cover: 0..n-1.
func (e Expectation) UIDs() uint64 { return mapSize(e.UIDMap) }
func (e Expectation) GIDs() uint64 { return mapSize(e.GIDMap) }

func mapSize(m []rangeplan.MapLine) uint64 {
	var n uint64
	for _, l := range m {
		n += uint64(l.Size)
	}
	return n
}

// describe names the setting for a check's expected column.
func (e Expectation) describe() string {
	return fmt.Sprintf("userns-remap %q in %s", e.Setting, e.Source)
}
