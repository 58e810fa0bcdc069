package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// Control reaches the host agent of an armed change through helper
// containers (a remap.Control).
type Control struct{ Runner Runner }

var _ remap.Control = Control{}

func (c Control) Status(ctx context.Context, token string) (*hostagent.Record, error) {
	return c.run(ctx, "status", token)
}

func (c Control) Confirm(ctx context.Context, token string) (*hostagent.Record, error) {
	return c.run(ctx, "confirm", token)
}

// AskRevert also removes a kept helper image at once: the agent's revert
// restarts the daemon, which would strand it in the data root it leaves.
func (c Control) AskRevert(ctx context.Context, token, reason string) (*hostagent.Record, error) {
	rec, err := c.run(ctx, "revert", token, reason)
	return rec, errors.Join(err, c.Runner.Release(ctx))
}

func (c Control) Collect(ctx context.Context, token string) (*hostagent.Record, error) {
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
	case remap.ExitNotWaiting:
		return rec, hostagent.ErrNotWaiting
	case remap.ExitNoRecord:
		return rec, fmt.Errorf("on the daemon's host: %w", hostagent.ErrNoRecord)
	}
	return rec, Failure(res)
}
