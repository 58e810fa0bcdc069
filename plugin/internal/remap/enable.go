package remap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// EnableOptions are enable's inputs.
type EnableOptions struct {
	Spec   string
	Layout string // "" picks owner for a named user, isolated for default
	Size   uint32 // 0 means rangeplan.DefaultSize
	// CreateUser creates a missing system user (and its group).
	CreateUser bool
	// Force replaces another userns-remap value and accepts a contiguous
	// range that covers host users.
	Force  bool
	DryRun bool
	// DiscardPending drops the record of an unfinished change whose agent
	// is gone (a copy stays beside it) instead of refusing.
	DiscardPending bool
	// DockerVersion is the version of a tree's dockerd (--root), when
	// neither its package database nor its binary says.
	DockerVersion string
}

// Enable turns remapping on for opts.Spec, step by step: each step of
// enableRun reads what the steps before it found and adds its own. The
// checks before the change share one answer of the daemon's info
// (Env.forChecks); the change and what follows the restart ask afresh.
func Enable(ctx context.Context, env Env, opts EnableOptions) (Outcome, error) {
	e := &enableRun{opts: opts, env: env, checks: env.forChecks(), out: Outcome{Action: "enable"}}
	if err := e.parseOptions(); err != nil {
		return e.out, err
	}
	snap, lock, err := beginChange(ctx, e.checks, opts.DryRun, opts.DiscardPending)
	if err != nil {
		return e.out, err
	}
	defer lock.Unlock()
	e.snap = snap
	if err := e.checkSetting(); err != nil {
		return e.out, err
	}
	// dockerd --validate runs beside the steps that follow.
	validated := startValidation(ctx, e.checks, opts.DryRun, e.snap.DaemonJSON.Path(), e.snap.DaemonJSON.Bytes(), e.newJSON)
	defer validated.stop()
	for _, step := range []func(context.Context) error{e.resolveUser, e.askDaemon, e.planChange, e.checkWork} {
		if err := step(ctx); err != nil {
			return e.out, err
		}
	}
	if err := validated.wait(); err != nil {
		return e.out, err
	}
	e.out.Unchecked = append(e.out.Unchecked, validated.skipped...)
	// In a dry run too, which must not promise a change a real run refuses.
	if err := e.checkReach(); err != nil {
		return e.out, err
	}
	if opts.DryRun {
		e.out.Result, e.out.Changed = DryRun, !e.already()
		return e.out, nil
	}
	if e.already() {
		e.out.Result = AlreadyEnabled
		if !e.env.Root.Tree() {
			e.out.Daemon = &e.before
		}
		return e.out, nil
	}
	return apply(ctx, e.env, lock, &e.out, e.changes, expectationOf(e.plan), e.record, nil)
}

// enableRun is one enable: its inputs, and what each step found, in the
// order the steps fill it in.
type enableRun struct {
	opts EnableOptions
	// env makes the change; checks is env for the checks before it.
	env, checks Env

	spec   remapspec.Spec
	layout rangeplan.Layout
	// snap is the host files, read under the lock (again once resolveUser
	// created the user); newJSON is daemon.json setting spec.
	snap    *Snapshot
	newJSON []byte
	ident   remapspec.Identity
	// before is the daemon before the change; asked is true when it
	// answered. rule is how it reads the ranges.
	before daemon.State
	asked  bool
	rules  []idmap.Rule
	// plan is the ranges to set; oldMaps the maps the daemon had under the
	// same setting; changes the new contents of the files.
	plan    rangeplan.Plan
	oldMaps daemonMaps
	changes hostchange.Set

	out Outcome
}

// parseOptions checks the options before any work.
func (e *enableRun) parseOptions() error {
	spec, err := remapspec.Parse(e.opts.Spec)
	if err != nil {
		return err
	}
	e.spec, e.out.Remap = spec, spec.String()
	if e.opts.DockerVersion != "" && !e.env.Root.Tree() {
		return fmt.Errorf("--docker-version %s goes with --root DIR, a tree whose daemon is not asked: here the daemon says its version", e.opts.DockerVersion)
	}
	switch {
	case e.opts.Layout != "":
		e.layout, err = rangeplan.ParseLayout(e.opts.Layout)
	case spec.Default:
		e.layout = rangeplan.Isolated
	}
	return err
}

// checkSetting refuses what dockerd or the operator would not have, and
// makes daemon.json's new content.
func (e *enableRun) checkSetting() error {
	// A flag given to dockerd beside daemon.json makes it refuse to start.
	if err := e.snap.Flags.Conflict(); err != nil {
		return err
	}
	cfg := e.snap.DaemonJSON
	if cur, set, err := cfg.UsernsRemap(); err != nil {
		return err
	} else if set && cur != e.spec.String() && !e.opts.Force {
		return fmt.Errorf("%s already sets userns-remap to %q: run `docker userns disable` first, or pass --force to replace it", cfg.Path(), cur)
	}
	var err error
	e.newJSON, err = cfg.Set(daemonconfig.UsernsRemap, e.spec.String())
	return err
}

// resolveUser finds the remap user, creating it when asked (and for
// "default", whose dockremap dockerd would create anyway); the files are
// read again once it is created.
func (e *enableRun) resolveUser(ctx context.Context) error {
	ident, created, err := resolveIdentity(ctx, e.checks, e.snap, e.spec, e.opts)
	if err != nil {
		return err
	}
	if created {
		if e.snap, err = ReadSnapshot(e.env.Root); err != nil {
			return err
		}
		if ident, err = e.spec.Resolve(e.snap.Accounts); err != nil {
			return err
		}
	}
	e.ident = ident
	return nil
}

// askDaemon learns the daemon before the change: how it reads the ranges
// depends on its version. A dry run without a daemon plans for the
// newest, whose placement suits all; a tree's daemon is not asked: its
// version is read from the tree.
func (e *enableRun) askDaemon(ctx context.Context) error {
	tree := e.env.Root.Tree()
	before, err := daemon.Inspect(ctx, e.checks.API)
	if err != nil && !e.opts.DryRun && !tree {
		return err
	}
	e.before, e.asked = before, err == nil
	e.rules = []idmap.Rule{idmap.RuleFor(before.Version)}
	if tree {
		e.before.DataRoot = treeDataRoot(e.snap)
		e.out.Unchecked = append(e.out.Unchecked, treeUnchecked...)
		if e.before.Version, err = treeVersion(e.checks, e.opts.DockerVersion); err != nil {
			return err
		}
		if e.rules[0] = idmap.RuleFor(e.before.Version); e.before.Version == "" {
			e.rules = idmap.Rules
		}
	}
	if (e.asked || tree) && !e.opts.Force {
		return imageStoreConflict(e.before, e.snap.DaemonJSON)
	}
	return nil
}

// planChange plans the ranges and makes the files' new contents.
func (e *enableRun) planChange(context.Context) error {
	req := rangeplan.Request{
		Layout: e.layout, Size: e.opts.Size,
		User: e.ident.User, UID: e.ident.UID, GID: e.ident.GID, Exists: e.ident.Exists,
		Force:  e.opts.Force,
		Subuid: e.snap.SubUID, Subgid: e.snap.SubGID, Accounts: e.snap.Accounts,
	}
	plan, err := planFor(e.checks, req, e.rules, e.snap, e.ident)
	if err != nil {
		return err
	}
	e.plan, e.out.Plan = plan, &plan
	// Read before enableChanges applies the plan to the files.
	e.oldMaps = mapsBefore(e.snap, e.spec, e.rules[0], e.ident)
	if e.changes, err = enableChanges(e.snap, plan, e.newJSON); err != nil {
		return err
	}
	e.out.describe(e.env, e.changes)
	return nil
}

// checkWork says, and refuses without --force, what the change does to
// the daemon's image store, images, containers and volumes.
func (e *enableRun) checkWork(ctx context.Context) error {
	if e.asked {
		e.out.ImageStore = sayStoreSwitch(e.checks, storeSwitch(e.env.Root, e.before, e.snap.DaemonJSON))
	}
	var err error
	if e.out.Work, err = checkRunningWork(ctx, e.checks, e.asked, e.before, e.plan, e.opts); err != nil {
		return err
	}
	e.out.MapChange, err = checkMapChange(ctx, e.checks, e.asked, e.before, e.oldMaps, e.plan, e.opts)
	return err
}

// already is true when the files are as the plan wants and the daemon
// runs remapped so; a tree's daemon is not asked: its files say all.
func (e *enableRun) already() bool {
	return !e.changes.Changed() && (e.env.Root.Tree() || remappedAs(e.before, expectationOf(e.plan)))
}

// checkReach: dockerd refuses to start remapped when the remapped root
// cannot reach its data root; say so now rather than after a restart and
// rollback.
func (e *enableRun) checkReach() error {
	if _, blocked := blockedParents(e.env.Root, e.before.DataRoot, e.before.Remapped); len(blocked) > 0 && !e.opts.Force {
		return fmt.Errorf("the remapped root could not reach the data root %s: not searchable by others: %s (chmod o+x each, or pass --force to try anyway)",
			e.before.DataRoot, strings.Join(blocked, ", "))
	}
	return nil
}

// record is what enable adds to the state record.
func (e *enableRun) record(st *hostchange.State) {
	plan := e.plan
	st.Remap = e.spec.String()
	st.DaemonJSON = e.snap.DaemonJSON.Path()
	// Removed ranges that are not ours are the operator's: recorded so
	// that disable --remove-ranges can give them back.
	st.RemovedUID = mergeRanges(st.RemovedUID, dropRanges(plan.UID.Remove, st.AddedUID))
	st.RemovedGID = mergeRanges(st.RemovedGID, dropRanges(plan.GID.Remove, st.AddedGID))
	st.AddedUID = mergeRanges(dropRanges(st.AddedUID, plan.UID.Remove), plan.UID.Add)
	st.AddedGID = mergeRanges(dropRanges(st.AddedGID, plan.GID.Remove), plan.GID.Add)
}

// remappedAs is true when the daemon runs remapped with container root at
// the host ids exp expects.
func remappedAs(d daemon.State, exp verify.Expectation) bool {
	uid, gid, ok := d.RemappedRootPair()
	return d.Remapped && ok && uid == exp.RootUID && gid == exp.RootGID
}

// resolveIdentity finds the remap user in snap, creating it when asked
// (and for "default", whose dockremap dockerd would create anyway):
// created says the host's accounts changed, and ident is then to be
// resolved again from them.
func resolveIdentity(ctx context.Context, env Env, snap *Snapshot, spec remapspec.Spec, opts EnableOptions) (ident remapspec.Identity, created bool, err error) {
	ident, err = spec.Resolve(snap.Accounts)
	missing := errors.Is(err, remapspec.ErrUnknownUser) || (err == nil && !ident.Exists)
	if err != nil && !missing {
		return ident, false, err
	}
	if !missing {
		return ident, false, nil
	}
	if !opts.CreateUser && !spec.Default {
		return ident, false, fmt.Errorf("%w (pass --create-user to create it as a system user)", err)
	}
	name := spec.User
	if spec.Default {
		name = remapspec.DefaultUser
	}
	if opts.DryRun {
		env.say("would create system user %s", spec.User)
		ident.User, ident.Exists = name, false
		return ident, false, nil
	}
	env.say("creating system user %s", name)
	if _, err := accounts.CreateSystemUser(ctx, env.Root, name, spec.Group); err != nil {
		return ident, false, err
	}
	return ident, true, nil
}

// ownsAllRanges is true when every subordinate range of the user was added
// by an earlier enable, as its state record says.
func ownsAllRanges(state *hostchange.State, snap *Snapshot, rule idmap.Rule, ident remapspec.Identity) bool {
	if state == nil {
		return false
	}
	uids := rule.Lines(snap.SubUID, ownerOf(ident))
	gids := rule.Lines(snap.SubGID, ownerOf(ident))
	return len(uids)+len(gids) > 0 && allListed(uids, state.AddedUID) && allListed(gids, state.AddedGID)
}

func allListed(ranges, listed []subid.Range) bool {
	for _, r := range ranges {
		if !slices.ContainsFunc(listed, func(l subid.Range) bool { return l.Same(r) }) {
			return false
		}
	}
	return true
}

// enableChanges turns a plan into the new content of subuid, subgid and
// daemon.json (newJSON, checkSetting's).
func enableChanges(snap *Snapshot, plan rangeplan.Plan, newJSON []byte) (hostchange.Set, error) {
	uidChange, err := subidChange(snap, snap.SubUID, plan.UID)
	if err != nil {
		return nil, err
	}
	gidChange, err := subidChange(snap, snap.SubGID, plan.GID)
	if err != nil {
		return nil, err
	}
	return hostchange.Set{uidChange, gidChange, daemonJSONChange(snap, newJSON)}, nil
}

// subidChange applies a plan's side to a subuid/subgid file.
func subidChange(snap *Snapshot, f *subid.File, side rangeplan.Side) (hostchange.Change, error) {
	change := hostchange.Change{Path: f.Path(), Old: f.Bytes(), OldExists: snap.Root.Exists(f.Path()), Perm: 0o644, Lock: true}
	if err := side.Apply(f); err != nil {
		return change, err
	}
	change.New = f.Bytes()
	return change, nil
}

func daemonJSONChange(snap *Snapshot, content []byte) hostchange.Change {
	p := snap.DaemonJSON.Path()
	return hostchange.Change{Path: p, Old: snap.DaemonJSON.Bytes(), OldExists: snap.Root.Exists(p), New: content, Perm: 0o644}
}
