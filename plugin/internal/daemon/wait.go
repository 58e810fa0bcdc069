package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
)

// pollInterval is how often WaitReady asks; a restarted dockerd answers
// within a second or two, so a short interval keeps `enable` quick.
const pollInterval = 100 * time.Millisecond

// WaitReady polls the daemon until it answers Info or the timeout passes.
func WaitReady(ctx context.Context, api client.APIClient, timeout time.Duration) (State, error) {
	return WaitReadyOrFail(ctx, api, timeout, nil)
}

// WaitReadyOrFail is WaitReady that gives up early when failed returns an
// error (the daemon's log says it cannot start): no use waiting it out.
func WaitReadyOrFail(ctx context.Context, api client.APIClient, timeout time.Duration, failed func() error) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		reqCtx, reqCancel := context.WithTimeout(ctx, 5*time.Second)
		state, err := Inspect(reqCtx, api)
		reqCancel()
		if err == nil {
			return state, nil
		}
		lastErr = err
		if failed != nil {
			if err := failed(); err != nil {
				return State{}, err
			}
		}
		select {
		case <-ctx.Done():
			return State{}, fmt.Errorf("daemon did not answer within %s: %w", timeout, lastErr)
		case <-time.After(pollInterval):
		}
	}
}
