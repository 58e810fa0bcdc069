package remap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/carry"
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

// Result is what enable or disable came to; the words people read are made
// from it in one place (commands' writeOutcome).
type Result string

// The results of enable and disable.
const (
	Enabled         Result = "enabled"
	Disabled        Result = "disabled"
	AlreadyEnabled  Result = "already enabled"
	AlreadyDisabled Result = "already disabled"
	DryRun          Result = "dry run"
	// FilesChanged: written, not restarted (--restart none).
	FilesChanged Result = "files changed"
	// Armed: written, and a host agent armed to restart (--arm-only, the
	// helper's answer to the client that confirms).
	Armed    Result = "armed"
	Reverted Result = "reverted"
)

// carriedOut is the result of a change that was carried out and confirmed.
func carriedOut(action string) Result {
	if action == "disable" {
		return Disabled
	}
	return Enabled
}

// Outcome is what enable or disable did, for the table and JSON output.
type Outcome struct {
	Action string `json:"action"`
	Result Result `json:"result"`
	// Changed is true when the run wrote the host's files or restarted its
	// daemon, and in a dry run when a run would (a restart alone counts):
	// what configuration management reports as changed (deploy/ansible).
	Changed bool            `json:"changed"`
	Remap   string          `json:"remap,omitempty"`
	Plan    *rangeplan.Plan `json:"plan,omitempty"`
	Files   []string        `json:"files,omitempty"`
	Diff    string          `json:"diff,omitempty"`
	Restart string          `json:"restart,omitempty"`
	Checks  verify.Report   `json:"checks,omitempty"`
	Backups []string        `json:"backups,omitempty"`
	Daemon  *daemon.State   `json:"daemon,omitempty"`
	Removed []string        `json:"removedRanges,omitempty"`
	// Work is what the change does to the daemon's images and containers.
	Work *RunningWork `json:"runningWork,omitempty"`
	// MapChange is a change of map under a data root that stays and holds
	// images, containers or volumes.
	MapChange *MapChange `json:"mapChange,omitempty"`
	// Pending is set between arming the host agent and the client's
	// confirmation (what a helper container hands to its client).
	Pending *Pending `json:"pending,omitempty"`
	// Carried is what --keep-images and --keep-volumes carried across the
	// switch of data root (the client fills it in after the change).
	Carried *carry.Report `json:"carried,omitempty"`
	// Unchecked says what was not checked, and why (a tree's daemon is
	// not asked; a dry run runs nothing).
	Unchecked []string `json:"unchecked,omitempty"`
	// ImageStore is the daemon's image store before and after, when the
	// change switches it (Docker 29's containerd store under remapping).
	ImageStore *StoreSwitch `json:"imageStore,omitempty"`
	// Reappeared is what a disable shows again of the unremapped data
	// root, and what stays out of view in the remapped one (the client
	// fills it in after the change; nil when the daemon did not answer).
	Reappeared *carry.Reappeared `json:"reappeared,omitempty"`
}

// Enable turns remapping on for opts.Spec.
func Enable(ctx context.Context, env Env, opts EnableOptions) (Outcome, error) {
	out := Outcome{Action: "enable"}
	spec, err := remapspec.Parse(opts.Spec)
	if err != nil {
		return out, err
	}
	out.Remap = spec.String()
	if opts.DockerVersion != "" && !env.Root.Tree() {
		return out, fmt.Errorf("--docker-version %s goes with --root DIR, a tree whose daemon is not asked: here the daemon says its version", opts.DockerVersion)
	}
	// The checks before the change share one answer of the daemon's info;
	// what follows the restart asks afresh.
	api := env.API
	env.API = daemon.OneInfo(api)
	snap, done, err := beginChange(ctx, &env, opts.DryRun, opts.DiscardPending)
	if err != nil {
		return out, err
	}
	defer done()
	// A flag given to dockerd beside daemon.json makes it refuse to start.
	if err := snap.Flags.Conflict(); err != nil {
		return out, err
	}
	if cur, set, err := snap.DaemonJSON.UsernsRemap(); err != nil {
		return out, err
	} else if set && cur != spec.String() && !opts.Force {
		return out, fmt.Errorf("%s already sets userns-remap to %q: run `docker userns disable` first, or pass --force to replace it", snap.DaemonJSON.Path(), cur)
	}
	newJSON, err := snap.DaemonJSON.Set(daemonconfig.UsernsRemap, spec.String())
	if err != nil {
		return out, err
	}
	validated := startValidation(ctx, env, opts.DryRun, snap.DaemonJSON.Path(), snap.DaemonJSON.Bytes(), newJSON)
	defer validated.stop()

	ident, err := resolveIdentity(ctx, env, &snap, spec, opts)
	if err != nil {
		return out, err
	}
	layout := rangeplan.Layout(opts.Layout)
	if layout != "" {
		if layout, err = rangeplan.ParseLayout(opts.Layout); err != nil {
			return out, err
		}
	} else if spec.Default {
		layout = rangeplan.Isolated
	}
	// How this daemon reads the ranges depends on its version; a dry run
	// without a daemon plans for the newest, whose placement suits all. A
	// tree's daemon is not asked: its version is read from the tree.
	before, inspectErr := daemon.Inspect(ctx, env.API)
	if inspectErr != nil && !opts.DryRun && !env.Root.Tree() {
		return out, inspectErr
	}
	rules := []idmap.Rule{idmap.RuleFor(before.Version)}
	if env.Root.Tree() {
		before.DataRoot = treeDataRoot(snap)
		out.Unchecked = append(out.Unchecked, treeUnchecked...)
		if before.Version, err = treeVersion(env, opts.DockerVersion); err != nil {
			return out, err
		}
		if rules[0] = idmap.RuleFor(before.Version); before.Version == "" {
			rules = idmap.Rules
		}
	}
	if (inspectErr == nil || env.Root.Tree()) && !opts.Force {
		if err := imageStoreConflict(before, snap.DaemonJSON); err != nil {
			return out, err
		}
	}
	req := rangeplan.Request{
		Layout: layout, Size: opts.Size,
		User: ident.User, UID: ident.UID, GID: ident.GID, Exists: ident.Exists,
		Force:  opts.Force,
		Subuid: snap.SubUID, Subgid: snap.SubGID, Accounts: snap.Accounts,
	}
	plan, err := planFor(env, req, rules, snap, ident)
	if err != nil {
		return out, err
	}
	req.Rule = rules[0]
	out.Plan = &plan

	// Read before enableChanges applies the plan to the files.
	old := mapsBefore(snap, spec, req.Rule, ident)
	changes, err := enableChanges(snap, plan, spec)
	if err != nil {
		return out, err
	}
	out.describe(env, changes)
	if inspectErr == nil {
		out.ImageStore = sayStoreSwitch(env, storeSwitch(env.Root, before, snap.DaemonJSON))
	}
	if out.Work, err = checkRunningWork(ctx, env, inspectErr == nil, before, plan, opts); err != nil {
		return out, err
	}
	if out.MapChange, err = checkMapChange(ctx, env, inspectErr == nil, before, old, plan, opts); err != nil {
		return out, err
	}
	if err := validated.wait(); err != nil {
		return out, err
	}
	out.Unchecked = append(out.Unchecked, validated.skipped...)
	exp := expectationOf(plan)
	// A tree's daemon is not asked: its files say all.
	already := !changes.Changed() && (env.Root.Tree() || remappedAs(before, exp))
	// dockerd refuses to start remapped when the remapped root cannot reach
	// its data root; say so now rather than after a restart and rollback,
	// and in a dry run too, which must not promise a change that a real run
	// refuses.
	if _, blocked := blockedParents(env.Root, before.DataRoot, before.Remapped); len(blocked) > 0 && !opts.Force {
		return out, fmt.Errorf("the remapped root could not reach the data root %s: not searchable by others: %s (chmod o+x each, or pass --force to try anyway)",
			before.DataRoot, strings.Join(blocked, ", "))
	}
	if opts.DryRun {
		out.Result, out.Changed = DryRun, !already
		return out, nil
	}

	if already {
		out.Result = AlreadyEnabled
		if !env.Root.Tree() {
			out.Daemon = &before
		}
		return out, nil
	}
	env.API = api
	return apply(ctx, env, &out, changes, exp, func(st *hostchange.State) {
		st.Remap = spec.String()
		st.DaemonJSON = snap.DaemonJSON.Path()
		// Removed ranges that are not ours are the operator's: recorded so
		// that disable --remove-ranges can give them back.
		st.RemovedUID = mergeRanges(st.RemovedUID, dropRanges(plan.UID.Remove, st.AddedUID))
		st.RemovedGID = mergeRanges(st.RemovedGID, dropRanges(plan.GID.Remove, st.AddedGID))
		st.AddedUID = mergeRanges(dropRanges(st.AddedUID, plan.UID.Remove), plan.UID.Add)
		st.AddedGID = mergeRanges(dropRanges(st.AddedGID, plan.GID.Remove), plan.GID.Add)
	}, nil)
}

// remappedAs is true when the daemon runs remapped with container root at
// the host ids exp expects.
func remappedAs(d daemon.State, exp verify.Expectation) bool {
	uid, gid, ok := d.RemappedRootPair()
	return d.Remapped && ok && uid == exp.RootUID && gid == exp.RootGID
}

// resolveIdentity finds the remap user, creating it when asked (and for
// "default", whose dockremap dockerd would create anyway).
func resolveIdentity(ctx context.Context, env Env, snap **Snapshot, spec remapspec.Spec, opts EnableOptions) (remapspec.Identity, error) {
	ident, err := spec.Resolve((*snap).Accounts)
	missing := errors.Is(err, remapspec.ErrUnknownUser) || (err == nil && !ident.Exists)
	if err != nil && !missing {
		return ident, err
	}
	if !missing {
		return ident, nil
	}
	if !opts.CreateUser && !spec.Default {
		return ident, fmt.Errorf("%w (pass --create-user to create it as a system user)", err)
	}
	if opts.DryRun {
		env.say("would create system user %s", spec.User)
		ident.User, ident.Exists = spec.User, false
		if spec.Default {
			ident.User = remapspec.DefaultUser
		}
		return ident, nil
	}
	name := spec.User
	if spec.Default {
		name = remapspec.DefaultUser
	}
	env.say("creating system user %s", name)
	if _, err := accounts.CreateSystemUser(ctx, env.Root, name, spec.Group); err != nil {
		return ident, err
	}
	if *snap, err = ReadSnapshot(env.Root); err != nil {
		return ident, err
	}
	return spec.Resolve((*snap).Accounts)
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

// enableChanges turns a plan into the new content of subuid, subgid and daemon.json.
func enableChanges(snap *Snapshot, plan rangeplan.Plan, spec remapspec.Spec) (hostchange.Set, error) {
	uidChange, err := subidChange(snap, snap.SubUID, plan.UID)
	if err != nil {
		return nil, err
	}
	gidChange, err := subidChange(snap, snap.SubGID, plan.GID)
	if err != nil {
		return nil, err
	}
	newJSON, err := snap.DaemonJSON.Set(daemonconfig.UsernsRemap, spec.String())
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
