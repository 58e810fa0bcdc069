package livecheck

import (
	"errors"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
)

// Expectation is what the host files say the daemon should do: the
// userns-remap value, the user it names, and the map dockerd builds from
// that user's subordinate ranges.
type Expectation struct {
	Setting string             `json:"setting"`
	Source  string             `json:"source"`
	User    remapspec.Identity `json:"user"`
	UIDMap  idmap.Map          `json:"uidMap"`
	GIDMap  idmap.Map          `json:"gidMap"`
}

// ErrNoSetting means neither daemon.json nor a dockerd flag sets userns-remap.
var ErrNoSetting = errors.New("no userns-remap set")

// Expect reads the host files under root as dockerd reads them: a dockerd
// flag wins over daemon.json (dockerd refuses both), the value resolves to
// a user and group, and their ranges in /etc/subuid and /etc/subgid make
// the map, read as the daemon's version reads them (idmap).
func Expect(root hostfs.Root, daemonVersion string) (Expectation, error) {
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
	rule := idmap.RuleFor(daemonVersion)
	owner := idmap.Owner{Name: exp.User.User, UID: exp.User.UID, Known: true}
	exp.UIDMap, exp.GIDMap = rule.Of(snap.SubUID, owner), rule.Of(snap.SubGID, owner)
	// dockerd looks up /etc/subgid by the user too, not by the group.
	if len(exp.UIDMap) == 0 {
		return exp, fmt.Errorf("find ranges of %s: none in %s", exp.User.User, snap.SubUID.Path())
	}
	if len(exp.GIDMap) == 0 {
		return exp, fmt.Errorf("find ranges of %s: none in %s (dockerd looks it up by the user, not the group)", exp.User.User, snap.SubGID.Path())
	}
	return exp, nil
}

// RootUID and RootGID are the host ids of container root.
func (e Expectation) RootUID() uint32 { return e.UIDMap[0].Host }
func (e Expectation) RootGID() uint32 { return e.GIDMap[0].Host }

// UIDs and GIDs are how many container ids the maps cover: 0..n-1.
func (e Expectation) UIDs() uint64 { return e.UIDMap.Size() }
func (e Expectation) GIDs() uint64 { return e.GIDMap.Size() }

// describe names the setting for a check's expected column.
func (e Expectation) describe() string {
	return fmt.Sprintf("userns-remap %q in %s", e.Setting, e.Source)
}
