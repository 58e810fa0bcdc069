package carry

import (
	"context"

	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
)

// Around is what is carried across one change of a host's daemon (enable
// or disable with --keep-images, --keep-volumes): made ready on the old
// daemon before the change, carried into the new one after it. A change
// that reverted or failed carries nothing (After is not called): all is
// still in the old root, which is in use again. Carrying starts only once
// the host agent has been confirmed, so it cannot delay or undo a revert.
type Around struct {
	api API
	// plan is what opts keeps; nil when nothing is kept.
	plan *Plan
	// remapped is what the remapped root held before a change that may
	// turn remapping off, to tell afterwards what stays out of view.
	remapped *Inventory
}

// End is how a change ended, as what is carried across it needs to know.
type End struct {
	// DryRun: nothing changed; say what would be carried.
	DryRun bool
	// Switched: the daemon now runs on another data root, whose ids map
	// as UID and GID (idmap.Identity when remapping was turned off).
	Switched bool
	UID, GID idmap.Map
	// Unremapped: remapping was turned off, so the unremapped root is in
	// view again.
	Unremapped bool
	// Unchanged says why the data root stayed, when it did.
	Unchanged string
}

// Before makes ready what opts keeps: listed, saved and scanned on the
// old daemon, and refused when the new map (mapped ids; 0: the daemon
// will not remap) cannot hold it. Before a change that may turn
// remapping off (mapped 0, not a dry run), it also takes what the
// remapped root holds (four list calls). Close it when done.
func Before(ctx context.Context, api API, opts Options, dryRun bool, mapped uint64) (*Around, error) {
	a := &Around{api: api}
	if opts.Any() {
		plan, err := Prepare(ctx, api, opts, dryRun)
		if err != nil {
			return nil, err
		}
		if err := plan.Check(mapped); err != nil {
			plan.Close()
			return nil, err
		}
		a.plan = plan
	}
	if mapped == 0 && !dryRun {
		a.remapped = TakeInventory(ctx, api)
	}
	return a, nil
}

// After carries across a change that ended as end (of action, "enable" or
// "disable"): what was carried (nil when nothing was to be kept) and,
// after a disable, what the unremapped root shows again and what stays
// out of view; an IncompleteError when something was not carried.
func (a *Around) After(ctx context.Context, end End, action string) (*Report, *Reappeared, error) {
	var visible *Inventory
	if a.remapped != nil && end.Unremapped {
		visible = TakeInventory(ctx, a.api)
	}
	var carried *Report
	if a.plan != nil {
		carried = a.carry(ctx, end)
	}
	var reappeared *Reappeared
	if visible != nil {
		after := visible
		if carried != nil && len(carried.Items) > 0 && carried.Note == "" {
			after = TakeInventory(ctx, a.api)
		}
		reappeared = Reappear(a.remapped, visible, after)
	}
	if carried != nil {
		if missing := carried.Missing(); len(missing) > 0 {
			return carried, reappeared, &IncompleteError{Action: action, Missing: missing}
		}
	}
	return carried, reappeared, nil
}

// carry carries the plan into the data root the daemon switched to; a dry
// run lists what would be carried; nothing when the data root stayed.
func (a *Around) carry(ctx context.Context, end End) *Report {
	switch {
	case end.DryRun:
		return a.plan.DryRun()
	case end.Switched:
		return a.plan.Carry(ctx, a.api, end.UID, end.GID)
	}
	return Unchanged(end.Unchanged)
}

// Close removes what Before saved.
func (a *Around) Close() {
	if a.plan != nil {
		a.plan.Close()
	}
}
