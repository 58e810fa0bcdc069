// Package poll is the one wait of the plugin: ask a condition again and
// again, an interval apart, until it holds, fails, its time is up, or the
// caller's context ends. Every wait for a daemon, a record or a file goes
// through Until, so that Ctrl-C ends each of them at once.
package poll

import (
	"context"
	"errors"
	"time"
)

// ErrTimeout is Until's error when the condition did not hold in time.
// Callers word it with what they waited for.
var ErrTimeout = errors.New("timed out")

// Until calls cond at once, then every interval, until it reports done (nil)
// or an error (that error), timeout has passed since the start (ErrTimeout),
// or ctx ends (ctx.Err(), without waiting out the interval). A timeout of
// zero or less sets no deadline of Until's own: only cond or ctx end it.
//
// The condition is asked once more after the deadline's last interval, never
// after the deadline itself: a wait of 2 s with an interval of 1 s asks at
// 0, 1 and 2 s. A cond that runs long is not cut short: it gets ctx to honour.
func Until(ctx context.Context, timeout, interval time.Duration, cond func(ctx context.Context) (done bool, err error)) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := cond(ctx)
		if err != nil || done {
			return err
		}
		wait := interval
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			wait = min(wait, left)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
