package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// ChangeOptions are an enable or disable made through the daemon.
type ChangeOptions struct {
	// Runner starts the helper containers on the daemon.
	Runner Runner
	// Argv is the plugin's command line in the helper: it stops once the
	// host agent is armed and prints its remap.Outcome on the wire (remap.WriteWire).
	Argv []string
	// Timeout bounds the wait for the daemon to answer after its restart.
	Timeout time.Duration
	// Progress gets the helper's progress lines and this client's.
	Progress io.Writer
}

// Change runs an enable or disable in a helper container up to the armed
// host agent, then waits for the restart, verifies and confirms from here.
func Change(ctx context.Context, opts ChangeOptions) (remap.Outcome, error) {
	fmt.Fprintln(opts.Progress, "editing the host's files in a helper container started through the daemon")
	// Opened on the old daemon before the agent is armed: its end is the
	// restart, also where the socket stays open across it (systemd).
	restarted := daemon.WatchRestart(ctx, opts.Runner.API)
	defer func() { restarted.Close() }()
	interrupted := func() {
		fmt.Fprintf(opts.Progress, "interrupted: letting the helper on the daemon's host end (up to %s) rather than stop it mid-change\n", endGrace)
	}
	// After the restart, one helper image serves every call to the agent;
	// each call, a confirmation above all, ends as the arming one does.
	after := opts.Runner.Keeping().ToTheEnd(endGrace, interrupted, nil)
	defer func() {
		if err := after.Release(ctx); err != nil {
			fmt.Fprintf(opts.Progress, "WARNING: %v: remove it by hand (docker image rm) or let a docker userns command remove it once it is %s old\n", err, sweep.RunAge)
		}
	}()
	control := Control{Runner: after}
	// The host agent restarts the daemon only once the arming helper is
	// removed. Before that: a watch that ended (a connection that broke)
	// is opened again on the old daemon, and an interrupted client asks the
	// agent to revert, which it then does without a restart.
	beforeRemoval := func(res probe.Result) {
		select {
		case <-restarted.Gone():
			restarted.Close()
			restarted = daemon.WatchRestart(context.WithoutCancel(ctx), opts.Runner.API)
		default:
		}
		if out, err := outcomeOf(res); ctx.Err() != nil && err == nil && out.Pending != nil {
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), endGrace)
			defer cancel()
			if _, err := control.AskRevert(bg, out.Pending.Token, remap.InterruptedReason); err != nil {
				fmt.Fprintf(opts.Progress, "asking the host agent to revert before it restarts the daemon failed: %v\n", err)
			}
		}
	}
	res, err := opts.Runner.ToTheEnd(endGrace, interrupted, beforeRemoval).Run(ctx, opts.Argv...)
	// The helper's events are the mark: from here the old daemon is asked
	// its history, and no open stream holds its exit (daemon.Release).
	restarted.Release(ctx)
	var removeErr *RemoveError
	if err != nil && !errors.As(err, &removeErr) {
		return remap.Outcome{}, err
	}
	Relay(opts.Progress, res)
	out, jsonErr := outcomeOf(res)
	if jsonErr != nil {
		return out, jsonErr
	}
	if res.ExitCode != 0 {
		return out, errors.Join(Failure(res), err)
	}
	if out.Pending == nil {
		return out, err
	}
	// After the restart one control session serves the agent's phase and
	// then the confirmation (or the revert): one helper start.
	sessions := control.WithSessions(remap.SessionWait(opts.Timeout, out.Pending.ConfirmTimeout))
	defer func() {
		if err := sessions.Close(ctx); err != nil {
			fmt.Fprintf(opts.Progress, "WARNING: %v\n", err)
		}
	}()
	client := remap.ClientEnv{API: opts.Runner.API, Binary: opts.Runner.Binary, Timeout: opts.Timeout, Progress: opts.Progress, Control: sessions, Restart: restarted}
	return remap.FinishOrRevert(ctx, client, &out)
}

// outcomeOf reads the arming helper's answer.
func outcomeOf(res probe.Result) (remap.Outcome, error) {
	if strings.TrimSpace(res.Stdout) == "" {
		return remap.Outcome{}, nil
	}
	return remap.ReadWire([]byte(res.Stdout))
}

// endGrace bounds how long an interrupted client lets a helper that
// changes the host run on: arming one takes seconds.
const endGrace = 2 * time.Minute

// Relay passes a helper's progress lines on to w; the last line of a
// failed run is its error (Failure), which the caller reports.
func Relay(w io.Writer, res probe.Result) {
	lines := strings.Split(strings.TrimRight(res.Stderr, "\n"), "\n")
	if res.ExitCode != 0 && len(lines) > 0 {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if l != "" {
			fmt.Fprintln(w, l)
		}
	}
}
