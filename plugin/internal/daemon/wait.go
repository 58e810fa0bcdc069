package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/poll"
)

// pollInterval is how often WaitReady asks (and a terminated dockerd is
// looked for): a restarted dockerd answers within a second or two, and
// every poll interval is added, half of it on average, to `enable`'s
// wait. A refused connection costs next to nothing; a dockerd already
// listening but not yet serving holds the request until it answers.
const pollInterval = 25 * time.Millisecond

// WaitReady polls the daemon until it answers Info or the timeout passes.
func WaitReady(ctx context.Context, api client.APIClient, timeout time.Duration) (State, error) {
	return WaitReadyOrFail(ctx, api, timeout, nil)
}

// WaitReadyOrFail is WaitReady that gives up early when failed returns an
// error (the daemon's log says it cannot start): no use waiting it out.
func WaitReadyOrFail(ctx context.Context, api client.APIClient, timeout time.Duration, failed func() error) (State, error) {
	return waitOrFail(ctx, timeout, failed, func(ctx context.Context) (State, error) { return Inspect(ctx, api) })
}

// WaitAnswersOrFail is WaitReadyOrFail for a caller that needs only to
// know that the daemon serves its API, not its state: it pings. Each Info
// makes dockerd run `runc --version` and `docker-init --version` (see
// OneInfo); a ping it answers without asking anything (moby
// api/server/router/system/system_routes.go, pingHandler), and it holds
// either request until it serves.
func WaitAnswersOrFail(ctx context.Context, api client.APIClient, timeout time.Duration, failed func() error) error {
	_, err := waitOrFail(ctx, timeout, failed, func(ctx context.Context) (State, error) {
		_, err := api.Ping(ctx, client.PingOptions{})
		return State{}, err
	})
	return err
}

// waitOrFail asks until ask answers, failed says why not to wait, or the
// timeout passes.
func waitOrFail(ctx context.Context, timeout time.Duration, failed func() error, ask func(context.Context) (State, error)) (State, error) {
	// The timeout is a context's, not poll's own deadline: it also bounds
	// a request the daemon holds (listening, not yet serving).
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var state State
	var lastErr, failure error
	err := poll.Until(waitCtx, 0, pollInterval, func(ctx context.Context) (bool, error) {
		reqCtx, reqCancel := context.WithTimeout(ctx, 5*time.Second)
		defer reqCancel()
		if state, lastErr = ask(reqCtx); lastErr == nil {
			return true, nil
		}
		if failed != nil {
			failure = failed()
		}
		return false, failure
	})
	switch {
	case err == nil:
		return state, nil
	case failure != nil:
		return State{}, failure
	case lastErr == nil: // ended before the first request
		lastErr = err
	}
	return State{}, fmt.Errorf("daemon did not answer within %s: %w", timeout, lastErr)
}

// RestartWatch sees the daemon that answered when it was opened go away:
// it holds an event stream open to that daemon, which ends when that
// dockerd stops. This works where an outage cannot be seen: under systemd
// socket activation the socket stays open across `systemctl restart
// docker`, and requests made meanwhile wait and then reach the new daemon.
type RestartWatch struct {
	gone   chan struct{}
	cancel context.CancelFunc
	// Err is why the stream ended, once Gone is closed.
	Err error
}

// WatchRestart opens the stream and returns once the daemon accepted it.
// A daemon that does not answer within openTimeout counts as gone.
func WatchRestart(ctx context.Context, api client.APIClient) *RestartWatch {
	const openTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(ctx)
	w := &RestartWatch{gone: make(chan struct{}), cancel: cancel}
	opened := make(chan client.EventsResult, 1)
	go func() {
		// Daemon events (reloads) are rare: the stream stays quiet.
		opened <- api.Events(ctx, client.EventsListOptions{Filters: make(client.Filters).Add("type", "daemon")})
	}()
	var res client.EventsResult
	select {
	case res = <-opened:
	case <-time.After(openTimeout):
		w.Err = fmt.Errorf("the daemon did not accept an event stream within %s", openTimeout)
		close(w.gone)
		return w
	}
	go func() {
		defer close(w.gone)
		for {
			select {
			case _, ok := <-res.Messages:
				if !ok {
					return
				}
			case err := <-res.Err:
				w.Err = err
				return
			}
		}
	}()
	return w
}

// Gone is closed when the daemon the watch was opened on has stopped (or
// the stream broke for another reason: Err says which).
func (w *RestartWatch) Gone() <-chan struct{} { return w.gone }

// Close ends the watch.
func (w *RestartWatch) Close() { w.cancel() }
