package remap

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// DisableOptions are disable's inputs.
type DisableOptions struct {
	// RemoveRanges also removes the subordinate ranges enable added.
	RemoveRanges bool
	DryRun       bool
	// DiscardPending: see EnableOptions.
	DiscardPending bool
}

// Disable turns remapping off. A file still holding exactly what enable
// wrote gets its original bytes back; one edited since only loses the key
// (and, with RemoveRanges, the ranges enable added).
func Disable(ctx context.Context, env Env, opts DisableOptions) (Outcome, error) {
	out := Outcome{Action: "disable"}
	snap, lock, err := beginChange(ctx, env, opts.DryRun, opts.DiscardPending)
	if err != nil {
		return out, err
	}
	defer lock.Unlock()
	if len(snap.Flags.UsernsRemap) > 0 {
		f := snap.Flags.UsernsRemap[0]
		return out, fmt.Errorf("remapping is set by the dockerd flag --userns-remap=%s in %s: remove it there and restart the daemon", f.Value, f.Where())
	}
	state, err := hostchange.LoadState(env.Root)
	if err != nil {
		return out, err
	}
	cur, set, err := snap.DaemonJSON.UsernsRemap()
	if err != nil {
		return out, err
	}
	out.Remap = cur

	var changes hostchange.Set
	if set {
		content, created := undoneContent(snap.Root, state, snap.DaemonJSON.Path(), snap.DaemonJSON.Bytes(),
			func() []byte { return snap.DaemonJSON.Remove(daemonconfig.UsernsRemap) })
		// The content from before enable may remap too (enable --force
		// replaced another value): disable turns remapping off, so that
		// value goes as well, and the operator is told which it was.
		if orig, err := daemonconfig.Parse(snap.DaemonJSON.Path(), content); err == nil && !created {
			if value, still, _ := orig.UsernsRemap(); still {
				env.say("%s set userns-remap %q before enable: disable removes it too (`docker userns enable %s` sets it again)", snap.DaemonJSON.Path(), value, value)
				content = orig.Remove(daemonconfig.UsernsRemap)
			}
		}
		change := daemonJSONChange(snap, content)
		change.Remove = created
		changes = append(changes, change)
	}
	if opts.RemoveRanges && state != nil {
		for _, side := range []struct {
			file           *subid.File
			added, removed []subid.Range
		}{{snap.SubUID, state.AddedUID, state.RemovedUID}, {snap.SubGID, state.AddedGID, state.RemovedGID}} {
			f := side.file
			old := f.Bytes()
			var editErr error
			content, created := undoneContent(snap.Root, state, f.Path(), old, func() []byte {
				for _, r := range side.added {
					f.Remove(r.Owner, r.Start, r.Count)
				}
				// What enable --force removed comes back.
				for _, r := range side.removed {
					if _, err := f.Add(r.Owner, r.Start, r.Count); err != nil {
						editErr = err
					}
				}
				return f.Bytes()
			})
			if editErr != nil {
				return out, editErr
			}
			changes = append(changes, hostchange.Change{Path: f.Path(), Old: old, OldExists: snap.Root.Exists(f.Path()), New: content, Remove: created, Perm: 0o644, Lock: true})
		}
	}
	out.describe(env, changes)
	// A dry run says what it can without a daemon.
	before, err := daemon.Inspect(ctx, env.API)
	if err == nil && before.Remapped && set {
		out.ImageStore = sayStoreSwitch(env, storeSwitch(env.Root, before, snap.DaemonJSON))
	}
	if opts.DryRun {
		// A daemon that does not answer may still run remapped: a run
		// would restart it. A tree's daemon is not asked: its files say all.
		out.Result = DryRun
		out.Changed = changes.Changed() || (!env.Root.Tree() && (before.Remapped || err != nil))
		return out, nil
	}
	// A tree's daemon is not asked (env.API is nil): its files say all.
	if env.Root.Tree() {
		out.Unchecked = append(out.Unchecked, treeUnchecked...)
	} else if err != nil {
		return out, err
	}
	if !changes.Changed() && !before.Remapped {
		out.Result = AlreadyDisabled
		out.Daemon = &before
		return out, nil
	}
	// Once the daemon runs unremapped (confirmed, or at once with --restart
	// none) the backups and the record have served.
	return apply(ctx, env, lock, &out, changes, verify.Unremapped(), func(*hostchange.State) {}, &hostagent.Commit{RemoveRanges: opts.RemoveRanges})
}

// undoneContent is the original content of a file enable changed when it
// still holds exactly what enable's last write put there and the backup is
// the content from before every change of ours (remove is true for a file
// enable created), else edit() applied to it: the backup of a file someone
// edited between our writes would drop their edits.
func undoneContent(root hostfs.Root, state *hostchange.State, p string, current []byte, edit func() []byte) (content []byte, remove bool) {
	if state != nil {
		f, ok := state.File(p)
		if cur := hostchange.Hash(current); ok && f.IntendedSHA256 == cur && f.WrittenSHA256 != cur {
			// A run killed after this write, before its record: the file
			// is ours when that write made it, else our change is edited out.
			if f.IntendedCreate {
				return nil, true
			}
			return edit(), false
		}
		if ok && f.WrittenSHA256 == hostchange.Hash(current) {
			if f.Created {
				return nil, true
			}
			if orig, err := root.ReadFile(f.Backup); f.Backup != "" && !f.Partial && err == nil && hostchange.Hash(orig) == f.OriginalSHA256 {
				return orig, false
			}
		}
	}
	return edit(), false
}

// forget removes the backups (enable's, and those disable's own writes
// just made) and the state record once disable has undone enable; with
// ranges kept, the subuid/subgid backups stay for a later
// `disable --remove-ranges`.
func forget(root hostfs.Root, state *hostchange.State, rangesRemoved bool, ownBackups []string) error {
	var errs []error
	for _, b := range ownBackups {
		if _, err := root.RemoveFile(b, hostfs.WriteOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	if state == nil {
		return errors.Join(errs...)
	}
	var kept []hostchange.AppliedFile
	for _, f := range state.Files {
		if !rangesRemoved && f.Path != state.DaemonJSON {
			kept = append(kept, f)
			continue
		}
		if f.Backup != "" {
			if _, err := root.RemoveFile(f.Backup, hostfs.WriteOptions{}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(kept) == 0 {
		errs = append(errs, hostchange.RemoveState(root))
	} else {
		state.Files, state.Remap = kept, ""
		errs = append(errs, state.Save(root))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up backups: %w", err)
	}
	return nil
}
