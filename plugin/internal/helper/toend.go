package helper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// toEnd is how a helper that changes the host is followed to its end.
type toEnd struct {
	grace       time.Duration
	interrupted func()
	beforeEnd   func(probe.Result)
}

// ToTheEnd returns a runner whose helpers, once started, are never removed
// before they end (issue 23 case 10): removed mid-way, a helper that
// changes the host leaves its files written and no agent armed, or the
// agent armed in a container that takes it down. An interrupt (ctx) lets
// the helper run for up to grace, and calls interrupted once; a connection
// that breaks is dialled again and the helper's end read from the daemon
// (probe.Image.Rejoin). beforeEnd, if not nil, gets what the helper did
// once it has ended and before its container is removed: the host agent
// it armed waits for that removal before it restarts the daemon.
func (r Runner) ToTheEnd(grace time.Duration, interrupted func(), beforeEnd func(probe.Result)) Runner {
	r.toEnd = &toEnd{grace: grace, interrupted: interrupted, beforeEnd: beforeEnd}
	return r
}

func (e *toEnd) run(ctx context.Context, img probe.Image, opts probe.RunOptions) (probe.Result, error) {
	if err := ctx.Err(); err != nil {
		return probe.Result{}, err // not started: nothing to let end
	}
	runCtx, cancel := e.outlive(ctx)
	defer cancel()
	res, remove, err := img.RunLeaving(runCtx, opts)
	if probe.Started(err) && runCtx.Err() == nil {
		// Its connection broke while it runs on.
		res, err = img.Rejoin(runCtx, opts.Name)
	}
	if err != nil && runCtx.Err() != nil {
		err = fmt.Errorf("%w: the helper did not end within %s of the interrupt and was removed mid-way: run `docker userns status` to see the host's files and any armed change", err, e.grace)
	} else if e.beforeEnd != nil && err == nil {
		e.beforeEnd(res)
	}
	return res, errors.Join(err, remove())
}

// outlive is a context that ends grace after ctx does (interrupted called
// once then), or when cancel is called.
func (e *toEnd) outlive(ctx context.Context) (context.Context, context.CancelFunc) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if e.interrupted != nil {
			e.interrupted()
		}
		select {
		case <-time.After(e.grace):
			cancel()
		case <-runCtx.Done():
		}
	})
	return runCtx, func() { stop(); cancel() }
}
