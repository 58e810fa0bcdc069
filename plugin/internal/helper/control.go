package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// Control reaches the host agent of an armed change through helper
// containers (a remap.Control). With sessions (WithSessions), the calls
// after the restart share one helper container.
type Control struct {
	Runner   Runner
	sessions *sessions
}

var _ remap.Control = Control{}

// WithSessions returns a Control whose Collect starts a control session
// that waits on the host (up to wait) for the agent to be past restarting,
// and whose Confirm or AskRevert then goes to that session's stdin.
func (c Control) WithSessions(wait time.Duration) Control {
	c.sessions = &sessions{Wait: wait}
	return c
}

// Close removes a control session still open.
func (c Control) Close(ctx context.Context) error {
	if c.sessions == nil {
		return nil
	}
	return c.sessions.close(ctx)
}

func (c Control) Status(ctx context.Context, token string) (*hostagent.Record, error) {
	return c.run(ctx, "status", token)
}

func (c Control) Confirm(ctx context.Context, token string) (*hostagent.Record, error) {
	if c.sessions != nil {
		if rec, served, err := c.sessions.request(ctx, c.Runner, token, remap.SessionConfirm, remap.SessionConfirm); served {
			return rec, err
		}
	}
	return c.run(ctx, "confirm", token)
}

// AskRevert also removes a kept helper image at once: the agent's revert
// restarts the daemon, which would strand it in the data root it leaves.
func (c Control) AskRevert(ctx context.Context, token, reason string) (*hostagent.Record, error) {
	if c.sessions != nil {
		if rec, served, err := c.sessions.request(ctx, c.Runner, token, remap.SessionRevert+" "+reason, remap.SessionRevert); served {
			return rec, errors.Join(err, c.Runner.Release(ctx))
		}
	}
	rec, err := c.run(ctx, "revert", token, reason)
	return rec, errors.Join(err, c.Runner.Release(ctx))
}

func (c Control) Collect(ctx context.Context, token string) (*hostagent.Record, error) {
	if c.sessions != nil {
		return c.sessions.phase(ctx, c.Runner, token)
	}
	return c.run(ctx, "collect", token)
}

func (c Control) run(ctx context.Context, action, token string, extra ...string) (*hostagent.Record, error) {
	args := append([]string{remap.ControlCommand, action, "--root", HostMount, token}, extra...)
	res, err := c.Runner.Run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var rec *hostagent.Record
	if res.Stdout != "" {
		rec = &hostagent.Record{}
		if err := json.Unmarshal([]byte(res.Stdout), rec); err != nil {
			return nil, fmt.Errorf("helper %s: read its answer: %w", action, err)
		}
	}
	switch res.ExitCode {
	case 0:
		return rec, nil
	case remap.ExitNotWaiting, remap.ExitNoRecord:
		return rec, statusErr(res.ExitCode, "")
	}
	return rec, Failure(res)
}

// statusErr is the error of a control call's exit status (remap.ControlMain)
// with its message.
func statusErr(status int, msg string) error {
	switch status {
	case 0:
		return nil
	case remap.ExitNotWaiting:
		return hostagent.ErrNotWaiting
	case remap.ExitNoRecord:
		return fmt.Errorf("on the daemon's host: %w", hostagent.ErrNoRecord)
	}
	if msg == "" {
		msg = fmt.Sprintf("exited with status %d", status)
	}
	return fmt.Errorf("on the daemon's host: %s", msg)
}
