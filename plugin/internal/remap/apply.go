package remap

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// apply writes the changes and records them, then arms the host agent,
// which restarts the daemon and reverts by itself unless this client (or,
// through the daemon, the one that started the helper) confirms a daemon
// verified against exp. lock is released once the agent runs.
func apply(ctx context.Context, env Env, lock *hostLock, out *Outcome, changes hostchange.Set, exp verify.Expectation, record func(*hostchange.State), commit *hostagent.Commit) (Outcome, error) {
	// A restart that nothing would follow up is refused before any write.
	if err := env.Restarter.CanRestart(ctx); err != nil {
		return *out, err
	}
	logPath := env.Restarter.LogPath()
	oldState, err := hostchange.LoadState(env.Root)
	if err != nil {
		return *out, err
	}
	// Intent first: what the writes will leave is recorded before any
	// starts, so that a run killed between a write and the record below
	// leaves what a later command needs to undo it.
	intent := oldState.Clone()
	record(intent)
	intent.Intend(env.Root, changes)
	if err := intent.Save(env.Root); err != nil {
		return *out, err
	}
	applied, err := changes.Apply(env.Root, oldState)
	if err != nil {
		return *out, errors.Join(err, hostchange.RestoreAll(env.Root, nil, oldState))
	}
	atStep(env.steps().afterWrite, env.Root)
	// From here the host is changed: files written, or a restart to come.
	out.Changed = true
	for _, f := range applied.Files {
		if f.BackupCreated {
			out.Backups = append(out.Backups, f.Backup)
		}
	}
	newState := oldState.Clone()
	newState.Record(applied)
	record(newState)
	if err := newState.Save(env.Root); err != nil {
		return *out, errors.Join(err, hostchange.RestoreAll(env.Root, applied.Save(), oldState))
	}
	if commit != nil {
		commit.Backups = out.Backups
	}
	if env.Restarter.Resolve() == daemon.StrategyNone {
		out.Result = FilesChanged
		env.say("files written; restart the daemon to apply them, then run `docker userns status`")
		return *out, commitOnHost(env.Root, commit, oldState)
	}
	rec := &hostagent.Record{
		Token: hostagent.NewToken(), Action: out.Action,
		Files: applied.Save(), OldState: oldState, Commit: commit,
		Restart: hostagent.Restart{Strategy: string(env.Restarter.Resolve()), Pidfile: env.Restarter.Pidfile},
		Socket:  env.socket(), LogPath: logPath,
		Timeout: env.Timeout, ConfirmTimeout: env.confirmTimeout(),
		Helper: env.Helper, EscapeCgroup: env.InHelper,
		Armed: time.Now().UTC(),
	}
	if err := hostagent.Arm(env.Root, rec); err != nil {
		return *out, errors.Join(err, hostchange.RestoreAll(env.Root, rec.Files, oldState))
	}
	atStep(env.steps().afterArm, env.Root)
	if err := hostagent.Spawn(env.Root, rec.Token, env.InHelper); err != nil {
		return *out, errors.Join(err, hostagent.Disarm(env.Root, rec.Token), hostchange.RestoreAll(env.Root, rec.Files, oldState))
	}
	// The agent is armed and runs: a later run sees its record.
	lock.Unlock()
	out.Pending = &Pending{Token: rec.Token, Expect: exp, LogPath: logPath, Files: rec.Files.Changed(), ConfirmTimeout: rec.ConfirmTimeout}
	if env.ArmOnly {
		out.Result = ArmedForClient
		return *out, nil
	}
	return FinishOrRevert(ctx, env.Client(), out)
}

// describe fills in what a run would change and how it would restart, which
// is all a dry run prints.
func (out *Outcome) describe(env Env, changes hostchange.Set) {
	out.Diff = changes.Diff()
	out.Restart = env.Restarter.Describe()
	for _, c := range changes {
		if c.Changed() {
			out.Files = append(out.Files, c.Path)
		}
	}
}

// expectationOf is what a daemon remapped by plan looks like.
func expectationOf(plan rangeplan.Plan) verify.Expectation {
	return verify.Expectation{
		Remapped: true,
		RootUID:  plan.UID.Root, RootGID: plan.GID.Root,
		UIDMap: plan.UID.Map, GIDMap: plan.GID.Map,
	}
}

// mergeRanges adds ranges not yet listed, keeping the first record.
func mergeRanges(have, add []subid.Range) []subid.Range {
	for _, r := range add {
		if !slices.ContainsFunc(have, func(h subid.Range) bool { return h.Same(r) }) {
			have = append(have, r)
		}
	}
	return have
}

// dropRanges removes ranges from a list.
func dropRanges(have, drop []subid.Range) []subid.Range {
	return slices.DeleteFunc(slices.Clone(have), func(h subid.Range) bool {
		return slices.ContainsFunc(drop, func(d subid.Range) bool { return h.Same(d) })
	})
}
