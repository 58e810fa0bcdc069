package remap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
)

// InterruptedReason is the reason an interrupted client gives the agent.
const InterruptedReason = "the client was interrupted"

// interruptGrace bounds what an interrupted client still does: ask the
// agent to revert and wait for it.
var interruptGrace = 3 * time.Minute

// FinishOrRevert is Finish for a client that may be interrupted (Ctrl-C
// cancels ctx; issue 12 case 12): when ctx ends before the change is
// confirmed, it asks the host agent to revert now rather than leave the
// host restarting and reverting on its timer, says so, and waits (bounded)
// for the revert. What it says last is what became of the change, read
// from the agent's record (issue 23 case 11).
func FinishOrRevert(ctx context.Context, c ClientEnv, out *Outcome) (Outcome, error) {
	var token string
	if out.Pending != nil {
		token = out.Pending.Token
	}
	res, err := *out, ctx.Err()
	if err == nil {
		// Interrupted before (through the daemon: while the helper armed
		// the agent), nothing is followed: the revert is asked at once.
		res, err = Finish(ctx, c, out)
	}
	if err == nil && ctx.Err() != nil && token != "" {
		// The confirmation was under way and ended.
		c.say("interrupted after the confirmation: the %s is kept", out.Action)
	}
	if err == nil || ctx.Err() == nil || token == "" || out.Pending == nil {
		return res, err
	}
	p := out.Pending
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptGrace)
	defer cancel()
	c.say("interrupted: asking the host agent to revert the %s now", out.Action)
	_, askErr := c.Control.AskRevert(bg, token, InterruptedReason)
	if askErr != nil && isUnreachable(askErr) {
		// Through the daemon, the agent may be restarting it: once more
		// when it answers.
		if _, err := daemon.WaitReady(bg, c.API, 2*c.Timeout); err == nil {
			_, askErr = c.Control.AskRevert(bg, token, InterruptedReason)
		}
	}
	if askErr != nil {
		return c.afterFailedAsk(bg, out, askErr)
	}
	c.say("waiting for the host agent's revert")
	rec, waitErr := c.awaitRevert(bg, token)
	if waitErr != nil {
		return res, fmt.Errorf("%s: interrupted; asked the host agent to revert: %v", out.Action, waitErr)
	}
	out.Pending = nil
	out.Result = RolledBack
	reason := rec.Reason
	if reason == "" {
		reason = InterruptedReason
	}
	return *out, &RevertedError{Action: out.Action, Reason: reason, Files: p.Files, DaemonBack: rec.DaemonBack, Restarted: rec.Restarted, LogPath: p.LogPath}
}

// afterFailedAsk says what became of an interrupted change whose agent
// could not be asked to revert, from its record: none left is a change
// confirmed (only a confirmation removes the record of a change the agent
// runs for; a revert leaves it for its client to collect); one left says
// where the agent is; none readable leaves it unknown.
func (c ClientEnv) afterFailedAsk(ctx context.Context, out *Outcome, askErr error) (Outcome, error) {
	p := out.Pending
	rec, err := c.Control.Status(ctx, p.Token)
	switch {
	case errors.Is(err, hostagent.ErrNoRecord):
		out.Pending = nil
		out.Result = carriedOut(out.Action)
		c.say("interrupted after the confirmation: the host agent's record of the %s is gone, as a confirmation leaves it: the %s is kept", out.Action, out.Action)
		return *out, nil
	case err != nil:
		return *out, fmt.Errorf("%s: interrupted; asking the host agent to revert failed (%v), and so did reading its record (%v): whether the change is kept is unknown; run `docker userns status`", out.Action, askErr, err)
	case rec.Phase == hostagent.Waiting || rec.Phase == hostagent.Armed || rec.Phase == hostagent.Restarting:
		return *out, fmt.Errorf("%s: interrupted; asking the host agent to revert failed (%v): the agent is %s, and reverts by itself unless confirmed within %s of the restart", out.Action, askErr, rec.Phase, p.ConfirmTimeout)
	default:
		return *out, fmt.Errorf("%s: interrupted; asking the host agent to revert failed (%v), but the agent is %s already (%s)", out.Action, askErr, rec.Phase, rec.Reason)
	}
}
