package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// markWait bounds how long Release waits for the stream's first event when
// it has seen none yet; without one the stream stays open.
const markWait = 2 * time.Second

// historyPoll is how often a released watch asks the daemon's history.
const historyPoll = 50 * time.Millisecond

// setMark keeps msg as the last event the stream brought.
func (w *RestartWatch) setMark(msg events.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mark.TimeNano == 0 {
		close(w.marked)
	}
	w.mark = msg
}

// closeGone says the old daemon is gone, once.
func (w *RestartWatch) closeGone() { w.goneOnce.Do(func() { close(w.gone) }) }

// streamEnded: the stream's end is the old daemon's, unless Release ended it.
func (w *RestartWatch) streamEnded() {
	w.mu.Lock()
	released := w.released
	w.mu.Unlock()
	if !released {
		w.closeGone()
	}
}

// Release stops holding the old daemon's event stream open, once the
// client has made the events it needs (its helper's) and before the
// restart: dockerd 26.1 and newer gives requests still open at its
// shutdown up to 5 s before it exits (moby cmd/dockerd/daemon.go, start's
// deferred time.AfterFunc(5*time.Second, apiShutdownCancel), v26.1.5 and
// v28.5.2; daemon/command/daemon.go in docker-v29.1.0), and an event
// stream never ends by itself, so the restart took 5 s longer through the
// daemon than on the host. From then on the watch asks the daemon for the
// last event the stream saw (/events with since and until at its time):
// only the old daemon's history (its last 256 events, in memory) holds
// it, so a daemon that answers without it is a new one. Without any event
// within markWait the stream stays open, as before.
func (w *RestartWatch) Release(ctx context.Context) {
	select {
	case <-w.marked:
	case <-w.gone:
		return
	case <-time.After(markWait):
		return
	case <-ctx.Done():
		return
	}
	w.mu.Lock()
	if w.released {
		w.mu.Unlock()
		return
	}
	w.released = true
	mark := w.mark
	w.mu.Unlock()
	// Both share the watch's context: Close ends either.
	w.cancel()
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.mu.Lock()
	w.cancel = cancel
	w.mu.Unlock()
	go w.askHistory(ctx, mark)
}

// askHistory closes gone once a daemon answers without mark in its history.
func (w *RestartWatch) askHistory(ctx context.Context, mark events.Message) {
	defer w.closeGone()
	at := fmt.Sprintf("%d.%09d", mark.TimeNano/int64(time.Second), mark.TimeNano%int64(time.Second))
	opts := client.EventsListOptions{Since: at, Until: at, Filters: make(client.Filters).Add("type", "container").Add("container", mark.Actor.ID)}
	for {
		found, err := inHistory(ctx, w.api, opts)
		if err == nil && !found {
			return
		}
		select {
		case <-ctx.Done():
			w.mu.Lock()
			w.Err = errors.Join(ctx.Err(), err)
			w.mu.Unlock()
			return
		case <-time.After(historyPoll):
		}
	}
}

// inHistory tells whether the daemon's history has an event of opts.
func inHistory(ctx context.Context, api client.APIClient, opts client.EventsListOptions) (bool, error) {
	reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res := api.Events(reqCtx, opts)
	found := false
	for {
		select {
		case _, ok := <-res.Messages:
			if ok {
				found = true
			}
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				return found, nil
			}
			return false, err
		}
	}
}
