package daemon

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// historyDaemon streams one container event (the helper's) to a watch,
// holding the stream until its client ends it, as dockerd does; asked its
// history (since and until given), it has that event while it is the old
// daemon. Calls it does not expect panic (the embedded nil interface).
type historyDaemon struct {
	client.APIClient
	mark events.Message

	mu          sync.Mutex
	old         bool
	asked       []client.EventsListOptions
	streamEnded chan struct{}
	askedTwice  chan struct{}
}

func (d *historyDaemon) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
	msgs, errs := make(chan events.Message), make(chan error, 1)
	if opts.Since == "" {
		go func() {
			msgs <- d.mark
			<-ctx.Done()
			close(d.streamEnded)
			errs <- ctx.Err()
		}()
		return client.EventsResult{Messages: msgs, Err: errs}
	}
	d.mu.Lock()
	d.asked = append(d.asked, opts)
	old := d.old
	if len(d.asked) == 2 {
		close(d.askedTwice)
	}
	d.mu.Unlock()
	go func() {
		if old {
			msgs <- d.mark
		}
		errs <- io.EOF
	}()
	return client.EventsResult{Messages: msgs, Err: errs}
}

// TestReleaseLetsTheOldDaemonGo: released, a watch no longer holds its
// stream open (dockerd waits up to 5 s at shutdown for it), and sees the
// restart when a daemon answers without the last event the stream saw.
func TestReleaseLetsTheOldDaemonGo(t *testing.T) {
	d := &historyDaemon{
		mark:        events.Message{Type: "container", Action: "destroy", Actor: events.Actor{ID: "helper0"}, TimeNano: 1765152000_000000042},
		old:         true,
		streamEnded: make(chan struct{}),
		askedTwice:  make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := WatchRestart(ctx, d)
	defer w.Close()
	w.Release(ctx)
	for what, ch := range map[string]chan struct{}{"the stream ends": d.streamEnded, "the history is asked twice": d.askedTwice} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("released: not seen: %s", what)
		}
	}
	select {
	case <-w.Gone():
		t.Fatalf("gone while the daemon's history has the mark (%v)", w.Err)
	default:
	}
	d.mu.Lock()
	d.old = false
	first := d.asked[0]
	d.mu.Unlock()
	select {
	case <-w.Gone():
	case <-ctx.Done():
		t.Fatal("not gone once a daemon answers without the mark")
	}
	if first.Since != "1765152000.000000042" || first.Until != first.Since || !first.Filters["container"]["helper0"] {
		t.Errorf("history asked with %+v, want since = until = the mark's time, its container", first)
	}
}
