package remap

import (
	"context"
	"fmt"
	"time"
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
// for the revert.
func FinishOrRevert(ctx context.Context, c ClientEnv, out *Outcome) (Outcome, error) {
	var token string
	if out.Pending != nil {
		token = out.Pending.Token
	}
	res, err := Finish(ctx, c, out)
	if err == nil || ctx.Err() == nil || token == "" || out.Pending == nil {
		return res, err
	}
	p := out.Pending
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptGrace)
	defer cancel()
	c.say("interrupted: asking the host agent to revert the %s now", out.Action)
	if _, askErr := c.Control.AskRevert(bg, token, InterruptedReason); askErr != nil {
		return res, fmt.Errorf("%s: interrupted; asking the host agent to revert failed (%v): it reverts by itself unless confirmed within %s of the restart", out.Action, askErr, p.ConfirmTimeout)
	}
	c.say("waiting for the host agent's revert")
	rec, waitErr := c.awaitRevert(bg, token)
	if waitErr != nil {
		return res, fmt.Errorf("%s: interrupted; asked the host agent to revert: %v", out.Action, waitErr)
	}
	out.Pending = nil
	out.Result = Reverted
	reason := rec.Reason
	if reason == "" {
		reason = InterruptedReason
	}
	return *out, &RevertedError{Action: out.Action, Reason: reason, Files: p.Files, DaemonBack: rec.DaemonBack, LogPath: p.LogPath}
}
