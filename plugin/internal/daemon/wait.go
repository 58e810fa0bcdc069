package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
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
// api/server/router/system/system_routes.go, pingHandler: headers and
// "OK", read at v20.10.24 and v28.5.2), and it holds either request until
// it serves.
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
// dockerd stops, until Release asks the daemon's event history instead.
// This works where an outage cannot be seen: under systemd socket
// activation the socket stays open across `systemctl restart docker`, and
// requests made meanwhile wait and then reach the new daemon.
type RestartWatch struct {
	api    client.APIClient
	gone   chan struct{}
	cancel context.CancelFunc
	// Err is why the stream ended, once Gone is closed.
	Err error

	mu sync.Mutex
	// mark is the last event the stream brought: only the old daemon's
	// history holds it (Release).
	mark     events.Message
	marked   chan struct{}
	released bool
	goneOnce sync.Once
}

// WatchRestart opens the stream and returns once the daemon accepted it.
// A daemon that does not answer within openTimeout counts as gone.
func WatchRestart(ctx context.Context, api client.APIClient) *RestartWatch {
	const openTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(ctx)
	w := &RestartWatch{api: api, gone: make(chan struct{}), cancel: cancel, marked: make(chan struct{})}
	opened := make(chan client.EventsResult, 1)
	go func() {
		// Container events: the client's own helper makes some, which
		// Release takes as its mark.
		opened <- api.Events(ctx, client.EventsListOptions{Filters: make(client.Filters).Add("type", "container")})
	}()
	var res client.EventsResult
	select {
	case res = <-opened:
	case <-time.After(openTimeout):
		w.Err = fmt.Errorf("the daemon did not accept an event stream within %s", openTimeout)
		w.closeGone()
		return w
	}
	go func() {
		defer w.streamEnded()
		for {
			select {
			case msg, ok := <-res.Messages:
				if !ok {
					return
				}
				w.setMark(msg)
			case err := <-res.Err:
				w.mu.Lock()
				if !w.released {
					w.Err = err
				}
				w.mu.Unlock()
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
func (w *RestartWatch) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancel()
}
