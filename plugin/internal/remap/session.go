package remap

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
)

// A control session is one helper container that serves every call to the
// host agent after the restart (`__control session --root DIR TOKEN
// WAIT`): it waits on the host while the agent restarts the daemon and
// then says its phase (SessionPhase; at once when the agent has not begun:
// no helper may run on a daemon about to be restarted), then takes one request on its stdin, a line
// `confirm` or `revert REASON`, answers it and ends. A request may come
// before the phase is said (an interrupted client). Each answer is one
// JSON line on stdout (SessionReply). A session whose stdin ends (its
// client gone: the daemon closes it when the attach breaks) acts on
// nothing: the agent reverts on its own timer.

// SessionWait bounds a control session started once the new daemon
// answers: the agent's restart and a revert's (as awaitPhase waits), then
// the confirmation window.
func SessionWait(timeout, confirmTimeout time.Duration) time.Duration {
	return 2*timeout + restartAllowance + confirmTimeout
}

// What a session's answer answers.
const (
	SessionPhase   = "phase"
	SessionConfirm = "confirm"
	SessionRevert  = "revert"
)

// SessionReply is one answer of a control session. Status is ControlMain's
// exit status for the same call (ExitNotWaiting, ExitNoRecord, 1, 0) and
// Error its message.
type SessionReply struct {
	To     string            `json:"to"`
	Record *hostagent.Record `json:"record,omitempty"`
	Status int               `json:"status"`
	Error  string            `json:"error,omitempty"`
}

// runSession serves one control session; it ends after its answer to a
// request, after a phase that is not waiting for a confirmation, when its
// stdin ends, or once wait has passed.
func runSession(control LocalControl, token string, wait time.Duration, stdin io.Reader, stdout io.Writer) int {
	ctx := context.Background()
	requests := make(chan string)
	go func() {
		defer close(requests)
		lines := bufio.NewScanner(stdin)
		for lines.Scan() {
			requests <- lines.Text()
		}
	}()
	enc := json.NewEncoder(stdout)
	reply := func(to string, rec *hostagent.Record, err error) {
		r := SessionReply{To: to, Record: shown(rec), Status: exitOf(err)}
		if err != nil {
			r.Error = err.Error()
		}
		_ = enc.Encode(&r)
	}
	deadline := time.After(wait)
	phaseSaid := false
	poll := time.NewTicker(recordPoll)
	defer poll.Stop()
	for {
		if !phaseSaid {
			rec, err := control.Status(ctx, token)
			switch {
			case err == nil && rec.Finished():
				rec, err = control.Collect(ctx, token)
				reply(SessionPhase, rec, err)
				return 0
			case err != nil || rec.Phase != hostagent.Restarting:
				atStep(buildSteps().beforeSessionPhase, control.Root)
				reply(SessionPhase, rec, err)
				if err != nil || rec.Phase != hostagent.Waiting {
					return 0
				}
				phaseSaid = true
			}
		}
		select {
		case line, ok := <-requests:
			if !ok {
				return 0 // the client is gone: the agent reverts by itself
			}
			action, reason, _ := strings.Cut(line, " ")
			switch action {
			case SessionConfirm:
				rec, err := control.Confirm(ctx, token)
				reply(SessionConfirm, rec, err)
			case SessionRevert:
				rec, err := control.AskRevert(ctx, token, reason)
				reply(SessionRevert, rec, err)
			default:
				reply(action, nil, fmt.Errorf("%s session: unknown request %q", ControlCommand, line))
				return 2
			}
			return 0
		case <-poll.C:
		case <-deadline:
			reply(SessionPhase, nil, fmt.Errorf("%s session: no request within %s", ControlCommand, wait))
			return 1
		}
	}
}

// shown is a record as it leaves the host: the old file contents stay.
func shown(rec *hostagent.Record) *hostagent.Record {
	if rec == nil {
		return nil
	}
	s := *rec
	s.Files, s.OldState = nil, nil
	return &s
}

// exitOf is ControlMain's exit status for err.
func exitOf(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, hostagent.ErrNotWaiting):
		return ExitNotWaiting
	case errors.Is(err, hostagent.ErrNoRecord):
		return ExitNoRecord
	}
	return 1
}
