package remap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// apply writes the changes, records them, restarts the daemon and verifies
// it against exp. When the daemon does not come back or disagrees, every
// file is restored, the daemon restarted again and the old state confirmed.
func apply(ctx context.Context, env Env, out *Outcome, changes hostchange.Set, exp verify.Expectation, record func(*hostchange.State)) (Outcome, error) {
	logHint := env.daemonLogHint()
	oldState, err := hostchange.LoadState(env.Root)
	if err != nil {
		return *out, err
	}
	applied, err := changes.Apply(env.Root)
	if err != nil {
		return *out, err
	}
	for _, f := range applied.Files {
		if f.BackupCreated {
			out.Backups = append(out.Backups, f.Backup)
		}
	}
	newState := &hostchange.State{}
	if oldState != nil {
		copied := *oldState
		newState = &copied
	}
	newState.Record(applied)
	record(newState)
	if err := newState.Save(env.Root); err != nil {
		return *out, errors.Join(err, restoreFiles(applied))
	}
	if env.Restarter.Resolve() == daemon.StrategyNone {
		out.Result = "files changed"
		env.say("files written; restart the daemon to apply them, then run `docker userns status`")
		return *out, nil
	}

	failure := restartAndVerify(ctx, env, exp, out, logHint)
	if failure == nil {
		return *out, nil
	}
	if said := lastDaemonError(env.Root, logHint); said != "" && !strings.Contains(failure.Error(), said) {
		failure = fmt.Errorf("%w; the daemon's log says: %s", failure, said)
	}
	env.say("%v; rolling back", failure)
	changed := fileNames(applied)
	rollbackErr := rollback(ctx, env, applied, oldState)
	if rollbackErr != nil {
		return *out, fmt.Errorf("%s: %w; rollback failed too: %v (daemon log: %s)", out.Action, failure, rollbackErr, logHint)
	}
	return *out, fmt.Errorf("%s: %w; restored %s and restarted: the daemon answers with its old config (daemon log: %s)",
		out.Action, failure, strings.Join(changed, ", "), logHint)
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

// restartAndVerify restarts the daemon and compares it with exp. It stops
// waiting as soon as the daemon's log says the new daemon cannot start.
func restartAndVerify(ctx context.Context, env Env, exp verify.Expectation, out *Outcome, logPath string) error {
	env.say("restarting: %s", env.Restarter.Describe())
	logStart := logSize(env.Root, logPath)
	if err := env.Restarter.Restart(ctx); err != nil {
		return err
	}
	cannotStart := func() error {
		if said := daemonErrorSince(env.Root, logPath, logStart); said != "" {
			return fmt.Errorf("daemon cannot start: its log says: %s", said)
		}
		return nil
	}
	if _, err := daemon.WaitReadyOrFail(ctx, env.API, env.Timeout, cannotStart); err != nil {
		return fmt.Errorf("daemon did not come back: %w", err)
	}
	env.say("verifying through the daemon's API and a probe container")
	report, err := verify.Daemon(ctx, env.API, env.Binary, exp)
	out.Checks = report
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if failed := report.Failed(); len(failed) > 0 {
		c := failed[0]
		return fmt.Errorf("verify: %s: expected %s, observed %s", c.Name, c.Expected, c.Observed)
	}
	state, err := daemon.Inspect(ctx, env.API)
	if err != nil {
		return err
	}
	out.Daemon = &state
	out.Result = map[string]string{"enable": "enabled", "disable": "disabled"}[out.Action]
	return nil
}

// rollback restores the files and the state record, restarts the daemon
// and waits until it answers again.
func rollback(ctx context.Context, env Env, applied *hostchange.Applied, oldState *hostchange.State) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	errs = append(errs, restoreFiles(applied))
	if oldState != nil {
		errs = append(errs, oldState.Save(env.Root))
	} else {
		errs = append(errs, hostchange.RemoveState(env.Root))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if env.Restarter.Resolve() == daemon.StrategySignal && !env.Restarter.Running() {
		// The new daemon never came up: its supervisor starts the next one,
		// which reads the restored files.
		env.say("the daemon is down; waiting for its supervisor to start it with the restored files")
	} else if err := env.Restarter.Restart(ctx); err != nil {
		env.say("restart during rollback: %v", err)
	}
	if _, err := daemon.WaitReady(ctx, env.API, env.Timeout); err != nil {
		return fmt.Errorf("daemon did not come back after rollback: %w", err)
	}
	return nil
}

func restoreFiles(applied *hostchange.Applied) error {
	if err := applied.Restore(); err != nil {
		return fmt.Errorf("restore files: %w", err)
	}
	return nil
}

func fileNames(applied *hostchange.Applied) []string {
	var names []string
	for _, f := range applied.Files {
		if f.Changed {
			names = append(names, f.Path)
		}
	}
	return names
}

// expectationOf is what a daemon remapped by plan looks like.
func expectationOf(plan rangeplan.Plan) verify.Expectation {
	return verify.Expectation{
		Remapped: true,
		RootUID:  plan.UID.Root, RootGID: plan.GID.Root,
		UIDMap: mappingsOf(plan.UID.Map), GIDMap: mappingsOf(plan.GID.Map),
	}
}

func mappingsOf(lines []rangeplan.MapLine) []probe.Mapping {
	maps := make([]probe.Mapping, len(lines))
	for i, l := range lines {
		maps[i] = probe.Mapping{ContainerID: l.Container, HostID: l.Host, Size: l.Size}
	}
	return maps
}

// mergeRanges adds ranges not yet listed, keeping the first record.
func mergeRanges(have, add []subid.Range) []subid.Range {
	for _, r := range add {
		if !slices.ContainsFunc(have, func(h subid.Range) bool { return sameRange(h, r) }) {
			have = append(have, r)
		}
	}
	return have
}

// dropRanges removes ranges from a list.
func dropRanges(have, drop []subid.Range) []subid.Range {
	return slices.DeleteFunc(slices.Clone(have), func(h subid.Range) bool {
		return slices.ContainsFunc(drop, func(d subid.Range) bool { return sameRange(h, d) })
	})
}

// sameRange compares what a range is, not the line it was read from.
func sameRange(a, b subid.Range) bool {
	return a.Owner == b.Owner && a.Start == b.Start && a.Count == b.Count
}
