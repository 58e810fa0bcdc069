package hostagent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/poll"
	"github.com/docker-userns/docker-userns/plugin/internal/steptrace"
)

// pollInterval is how often the agent looks at the record and the daemon.
const pollInterval = 100 * time.Millisecond

// journalLag is how long the agent looks for dockerd's reason after a
// failed restart job.
const journalLag = 2 * time.Second

// leftoverTimeout bounds the wait for the client to remove its helper.
const leftoverTimeout = 30 * time.Second

// leftoverPoll is how often the agent asks the daemon whether the helper
// is gone: the restart waits for it, through the daemon on every enable.
const leftoverPoll = 25 * time.Millisecond

// agent runs one armed change on the host.
type agent struct {
	root hostfs.Root
	rec  *Record
	api  client.APIClient
	// gone are leftovers already seen removed: a revert does not wait for
	// them again (with a daemon that cannot start, asking would only fail
	// until leftoverTimeout).
	gone HelperObjects
}

// Run is the agent: restart, wait for the daemon, then for a confirmation,
// and revert when either does not come. ready is called once the agent no
// longer depends on whoever started it.
func Run(ctx context.Context, root hostfs.Root, token string, ready func()) error {
	rec, err := Lookup(root, token)
	if err != nil {
		return err
	}
	if rec.EscapeCgroup {
		if err := escapeCgroup(root); err != nil {
			_ = Disarm(root, token)
			return err
		}
	}
	api, err := client.New(client.WithHost("unix://" + root.Path(rec.Socket))) // negotiates the API version by default
	if err != nil {
		_ = Disarm(root, token)
		return fmt.Errorf("agent: daemon client for %s: %w", rec.Socket, err)
	}
	defer api.Close()
	a := &agent{root: root, rec: rec, api: api}
	if _, err = a.set(func(r *Record) { r.AgentPID = pid() }); err != nil {
		return err
	}
	ready()
	return a.run(ctx)
}

func (a *agent) run(ctx context.Context) error {
	if reason := a.waitHelperGone(ctx, true); reason != "" {
		return a.revert(ctx, reason, false)
	}
	restarter := a.restarter()
	daemonLog := daemon.WatchLog(ctx, a.root.Dir(), a.rec.LogPath)
	if _, err := a.set(func(r *Record) { r.Phase = Restarting }); err != nil {
		return a.revert(ctx, fmt.Sprintf("record the restart: %v", err), false)
	}
	cannotStart := func() error {
		if said := daemonLog.StartFailure(ctx); said != "" {
			return startFailure{said: said}
		}
		if rec, err := a.current(); err == nil && rec.Phase == RevertAsked {
			return errors.New(rec.Reason)
		}
		return nil
	}
	steptrace.Mark(steptrace.AgentRestart)
	if err := restarter.Restart(ctx); err != nil {
		// A failed job means dockerd exited; its last words may reach the
		// journal a moment after systemd reports the job.
		if !errors.Is(err, daemon.ErrStartHangs) {
			var said error
			_ = poll.Until(ctx, journalLag, pollInterval, func(context.Context) (bool, error) {
				said = cannotStart()
				return said != nil, nil
			})
			if said != nil {
				return a.revert(ctx, fmt.Sprintf("%v (%v)", said, err), true)
			}
		}
		return a.revert(ctx, reasonOf(err), true)
	}
	steptrace.Mark(steptrace.AgentRestarted)
	// The unit's new run is read beside the wait: once the job has ended
	// it no longer changes. The client's verification asks the daemon's
	// state; the agent needs only to hear that it serves.
	unitRun := make(chan *daemon.UnitState, 1)
	go func() { unitRun <- a.unitStarted(ctx) }()
	if err := daemon.WaitAnswersOrFail(ctx, a.api, a.rec.Timeout, cannotStart); err != nil {
		return a.revert(ctx, reasonOf(err), true)
	}
	steptrace.Mark(steptrace.AgentAnswered)
	started := <-unitRun
	if _, err := a.set(func(r *Record) {
		if r.Phase == Restarting {
			r.Phase, r.Started = Waiting, started
		}
	}); err != nil && !errors.Is(err, ErrNoRecord) {
		return a.revert(ctx, fmt.Sprintf("record the daemon's start: %v", err), true)
	} else if err != nil {
		return nil // confirmed meanwhile
	}
	steptrace.Mark(steptrace.AgentWaiting)
	var asked *Record
	err := poll.Until(ctx, a.rec.ConfirmTimeout, pollInterval, func(context.Context) (bool, error) {
		rec, err := a.current()
		if err != nil {
			return false, err
		}
		if rec.Phase == RevertAsked {
			asked = rec
		}
		return asked != nil, nil
	})
	switch {
	case asked != nil:
		return a.revert(ctx, asked.Reason, true)
	case errors.Is(err, poll.ErrTimeout):
		return a.revert(ctx, fmt.Sprintf("no client confirmed the new daemon within %s of its start", a.rec.ConfirmTimeout), true)
	case errors.Is(err, ctx.Err()):
		return a.revert(ctx, fmt.Sprintf("the host agent was stopped while waiting for a confirmation: %v", err), true)
	}
	return ignoreConfirmed(err)
}

// startFailure is the daemon's own reason it cannot start, from its log.
type startFailure struct{ said string }

func (e startFailure) Error() string { return "daemon cannot start: its log says: " + e.said }

// reasonOf words a wait failure for the record: the log's reason as it is,
// a timeout with what it was waiting for.
func reasonOf(err error) string {
	if errors.As(err, new(startFailure)) {
		return err.Error()
	}
	return "daemon did not come back: " + err.Error()
}

// ignoreConfirmed: a record removed by Confirm ends the agent's job.
func ignoreConfirmed(err error) error {
	if errors.Is(err, ErrNoRecord) {
		return nil
	}
	return err
}

func (a *agent) restarter() daemon.Restarter {
	return daemon.Restarter{Strategy: daemon.Strategy(a.rec.Restart.Strategy), Root: a.root, Pidfile: a.rec.Restart.Pidfile, StartTimeout: a.rec.Timeout}
}

// unitStarted is the unit's run the agent restarted into (systemd only):
// what changed, for the record.
func (a *agent) unitStarted(ctx context.Context) *daemon.UnitState {
	r := a.restarter()
	if r.Resolve() != daemon.StrategySystemd {
		return nil
	}
	st, err := r.Unit().State(ctx)
	if err != nil {
		return nil
	}
	return &daemon.UnitState{ActiveState: st.ActiveState, InvocationID: st.InvocationID, MainPID: st.MainPID, Started: st.Started}
}

// current reads the record as a client may have changed it.
func (a *agent) current() (*Record, error) { return Lookup(a.root, a.rec.Token) }

// set changes the record under the lock and keeps the agent's copy current.
func (a *agent) set(fn func(*Record)) (*Record, error) {
	rec, err := update(a.root, a.rec.Token, func(r *Record) error { fn(r); return nil })
	if err == nil {
		a.rec = rec
	}
	return rec, err
}

// waitHelperGone waits until the client removed its helper container and
// image, so that a restart (which may move the data root) strands neither.
// With stopOnRevert, a client's request to revert ends the wait early.
func (a *agent) waitHelperGone(ctx context.Context, stopOnRevert bool) string {
	left := a.rec.Helper
	if left == (HelperObjects{}) || left == a.gone {
		return ""
	}
	var reason string
	err := poll.Until(ctx, leftoverTimeout, leftoverPoll, func(ctx context.Context) (bool, error) {
		if rec, err := a.current(); err == nil && rec.Phase == RevertAsked && stopOnRevert {
			reason = rec.Reason
			return true, nil
		}
		return !a.exists(ctx, left), nil
	})
	switch {
	case reason != "":
		return reason
	case err == nil:
		a.gone = left
		return ""
	case errors.Is(err, poll.ErrTimeout):
		return fmt.Sprintf("the client did not remove its helper container %.12s within %s", left.Container, leftoverTimeout)
	}
	return fmt.Sprintf("stopped while waiting for the client to remove its helper container %.12s: %v", left.Container, err)
}

func (a *agent) exists(ctx context.Context, left HelperObjects) bool {
	if left.Container != "" {
		if _, err := a.api.ContainerInspect(ctx, left.Container, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
			return true
		}
	}
	if left.Image != "" {
		if _, err := a.api.ImageInspect(ctx, left.Image); !cerrdefs.IsNotFound(err) {
			return true
		}
	}
	return false
}

// revert restores the files and the state record, restarts the daemon when
// it was restarted with them, and records why and how it ended.
func (a *agent) revert(ctx context.Context, reason string, restart bool) error {
	ctx = context.WithoutCancel(ctx)
	// The files come back whatever becomes of the record: one that cannot
	// be written (a full /var) must not keep the host on the new config. It
	// is removed instead (unlinking takes no space), so that no confirmation
	// wins meanwhile, and written again, if it can be, once reverted.
	var recordErr error
	if _, err := a.set(func(r *Record) { r.Phase, r.Reason = Reverting, reason }); errors.Is(err, ErrNoRecord) {
		return nil // confirmed meanwhile
	} else if err != nil {
		recordErr = err
		_ = Disarm(a.root, a.rec.Token)
		logf(a.root, "change %s: reverting (%s) although its record cannot be written: %v", a.rec.Token, reason, err)
	}
	if restart {
		// A client asking to revert from a helper container: that
		// container must be gone before the daemon restarts.
		a.waitHelperGone(ctx, false)
	}
	var errs []error
	if err := hostchange.RestoreAll(a.root, a.rec.Files, a.rec.OldState); err != nil {
		errs = append(errs, err)
	}
	back := false
	if restart {
		restarter := a.restarter()
		if restarter.Resolve() == daemon.StrategySystemd {
			// A start that hangs is stopped first: its job would outlive
			// the restart asked next, and its dockerd the restored files.
			if st, err := restarter.Unit().State(ctx); err == nil && st.ActiveState == "activating" {
				if err := restarter.Unit().Stop(ctx, a.rec.Timeout); err != nil {
					errs = append(errs, fmt.Errorf("stop the hanging start: %w", err))
				}
			}
		}
		// A daemon that never came up is started again by its supervisor,
		// which now reads the restored files; systemd's restart resets the
		// unit's failed state first (its start limit may be used up).
		if restarter.Resolve() != daemon.StrategySignal || restarter.Running() {
			if err := restarter.Restart(ctx); err != nil {
				errs = append(errs, fmt.Errorf("restart: %w", err))
			}
		}
		_, err := daemon.WaitReady(ctx, a.api, a.rec.Timeout)
		back = err == nil
		if err != nil {
			errs = append(errs, fmt.Errorf("daemon did not come back after the revert: %w", err))
		}
	} else {
		back = true
	}
	if err := errors.Join(errs...); err != nil {
		reason = fmt.Sprintf("%s; the revert had trouble: %v", reason, err)
	}
	logf(a.root, "change %s (%s): reverted %s: %s; daemon back: %v", a.rec.Token, a.rec.Action, strings.Join(a.rec.Files.Changed(), ", "), reason, back)
	var err error
	if recordErr == nil {
		_, err = a.set(func(r *Record) { r.Phase, r.Reason, r.DaemonBack, r.Restarted = Reverted, reason, back, restart })
	} else {
		final := *a.rec
		final.Phase, final.Reason, final.DaemonBack, final.Restarted = Reverted, reason, back, restart
		err = locked(a.root, func() error { return save(a.root, &final) })
		err = errors.Join(recordErr, err)
	}
	if err != nil {
		logf(a.root, "change %s: record the revert: %v", a.rec.Token, err)
	}
	return err
}
