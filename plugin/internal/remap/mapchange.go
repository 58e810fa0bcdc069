package remap

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
)

// MapChange is an enable that changes the map of a remapped daemon while
// its data root stays: dockerd names that root after container root's host
// ids only, <data-root>/<uid>.<gid>, and chowns that directory alone, never
// what it holds (moby daemon/daemon_unix.go setupDaemonRoot, v20.10.24 and
// v26.1.5 with idtools.MkdirAllAndChown, v28.5.2 with
// user.MkdirAllAndChown; seen on a 20.10 DinD host: a volume file of
// container uid 1000 read as 65534 after the range moved). Image
// layers, containers and volume files already there keep the host ids of
// the old map: under the new one a file of container uid 1000 shows as
// nobody (65534), or as another container id.
type MapChange struct {
	DataRoot string    `json:"dataRoot"`
	OldUIDs  idmap.Map `json:"oldUidMap"`
	NewUIDs  idmap.Map `json:"newUidMap"`
	OldGIDs  idmap.Map `json:"oldGidMap"`
	NewGIDs  idmap.Map `json:"newGidMap"`
	// Holds is what the daemon shows in that root, the plugin's own
	// images and containers left out.
	Holds carry.RootContent `json:"holds"`
}

// daemonMaps are the maps the remapped daemon built from the files, read
// before the plan is applied to them; ok is false when daemon.json names
// another remap user (its map is not this user's).
type daemonMaps struct {
	uids, gids idmap.Map
	ok         bool
}

func mapsBefore(snap *Snapshot, spec remapspec.Spec, rule idmap.Rule, ident remapspec.Identity) daemonMaps {
	cur, set, err := snap.DaemonJSON.UsernsRemap()
	if err != nil || !set || cur != spec.String() {
		return daemonMaps{}
	}
	o := ownerOf(ident)
	return daemonMaps{uids: rule.Of(snap.SubUID, o), gids: rule.Of(snap.SubGID, o), ok: true}
}

// dataRootAfter is where the daemon keeps its data once remapped by plan.
func dataRootAfter(before daemon.State, plan rangeplan.Plan) string {
	base := before.DataRoot
	if before.Remapped {
		base = path.Dir(strings.TrimSuffix(base, "/"))
	}
	return plan.DataRoot(base)
}

// checkMapChange refuses, without --force, a change of map that leaves
// what the daemon's unchanged data root holds owned by the old map's host
// ids (counted through the API before any write); a dry run says it would
// refuse, --force warns. haveDaemon is false for a dry run without daemon.
func checkMapChange(ctx context.Context, env Env, haveDaemon bool, before daemon.State, old daemonMaps, plan rangeplan.Plan, opts EnableOptions) (*MapChange, error) {
	if !haveDaemon || !before.Remapped || !old.ok || path.Clean(dataRootAfter(before, plan)) != path.Clean(before.DataRoot) {
		return nil, nil
	}
	if old.uids.Keeps(plan.UID.Map) && old.gids.Keeps(plan.GID.Map) {
		return nil, nil
	}
	inv := carry.TakeInventory(ctx, env.API)
	if inv == nil {
		return nil, fmt.Errorf("the map of the daemon's data root %s changes: could not list what it holds through the daemon's API (pass --force to go ahead without)", before.DataRoot)
	}
	c := &MapChange{DataRoot: before.DataRoot, OldUIDs: old.uids, NewUIDs: plan.UID.Map, OldGIDs: old.gids, NewGIDs: plan.GID.Map, Holds: inv.Content()}
	if c.Holds.Empty() {
		return nil, nil
	}
	switch {
	case opts.Force:
		env.say("WARNING: %s", c.what())
	case opts.DryRun:
		env.say("enable would refuse: %v", c.Refusal())
	default:
		return c, c.Refusal()
	}
	return c, nil
}

// what says what the change does to the data root's content.
func (c *MapChange) what() string {
	maps := fmt.Sprintf("uids %s -> %s", c.OldUIDs, c.NewUIDs)
	if !c.OldGIDs.Equal(c.OldUIDs) || !c.NewGIDs.Equal(c.NewUIDs) {
		maps += fmt.Sprintf("; gids %s -> %s", c.OldGIDs, c.NewGIDs)
	}
	return fmt.Sprintf("the daemon's data root %s stays while its map changes (%s): its %s keep files owned by the old map's host ids, which containers then see as nobody (65534) or as other ids",
		c.DataRoot, maps, c.Holds.Counted())
}

// Refusal is why enable stops without --force, and the ways on.
func (c *MapChange) Refusal() error {
	return fmt.Errorf("%s: remove them first (docker system prune -a --volumes, after saving what you need) and pull again once enabled, free the ids that keep the range from growing in place, or pass --force to go ahead", c.what())
}
