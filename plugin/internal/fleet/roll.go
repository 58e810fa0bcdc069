// Package fleet runs one command on many Docker hosts like a canary deploy:
// a few hosts alone first, then the rest in batches, stopping early when too
// many fail so a bad change does not reach the whole fleet.
package fleet

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Options shape a rollout.
type Options struct {
	Canary      int // hosts run alone, one after another, first (default 1 when <= 0; clamp to len(hosts))
	Parallel    int // hosts per batch after the canaries, run concurrently (default 1 when <= 0)
	MaxFailures int // stop starting hosts once this many failed (0 = never stop)
	// NoCanary runs no host alone first (Canary is not read): for commands
	// that only read hosts, where a canary protects nothing.
	NoCanary bool
}

// Outcome is what a run on one host returns: Result is a short word for the
// table ("enabled", "already enabled", "reverted", ...), Message a one-line detail.
type Outcome struct {
	Result  string
	Message string
	// Detail is the host's whole answer (a status, a test report), kept
	// in the JSON of the fleet; nil for none.
	Detail any
}

// Result is one host's line in the final table.
type Result struct {
	Host     string        `json:"host"`
	Result   string        `json:"result"` // run's Outcome.Result; "failed" when run returned an error and an empty Result; "skipped" for hosts not started
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"` // Duration in seconds, rounded to 0.1
	Message  string        `json:"message"` // Outcome.Message, else the error text; for skipped: why it was not started
	Failed   bool          `json:"failed"`  // run returned an error
	Canary   bool          `json:"canary,omitempty"`
	Detail   any           `json:"detail,omitempty"` // Outcome.Detail
}

// Words used in Result.Result when run gave none.
const (
	resultFailed  = "failed"
	resultDone    = "done"
	resultSkipped = "skipped"
)

// Roll runs run on every host: the canaries first (none with NoCanary), one
// by one, then the rest
// in batches of Parallel, waiting for each batch to end before the next. It
// stops starting hosts as soon as MaxFailures hosts have failed (a batch
// already running finishes). Results come back in the order of hosts. A
// cancelled ctx marks the hosts not started as skipped with the context's
// error as message.
func Roll(ctx context.Context, hosts []string, opts Options, run func(ctx context.Context, host string) (Outcome, error)) []Result {
	canary := min(max(opts.Canary, 1), len(hosts))
	if opts.NoCanary {
		canary = 0
	}
	parallel := max(opts.Parallel, 1)

	results := make([]Result, len(hosts))
	for i, host := range hosts {
		results[i] = Result{Host: host, Canary: i < canary}
	}
	failed := 0
	for start := 0; start < len(hosts); {
		if why := stopReason(ctx, opts.MaxFailures, failed); why != "" {
			for i := start; i < len(hosts); i++ {
				results[i].Result = resultSkipped
				results[i].Message = why
			}
			break
		}
		end := min(start+parallel, len(hosts))
		if start < canary {
			end = start + 1
		}
		var wg sync.WaitGroup
		for i := start; i < end; i++ {
			wg.Go(func() { runOne(ctx, &results[i], run) })
		}
		wg.Wait()
		for i := start; i < end; i++ {
			if results[i].Failed {
				failed++
			}
		}
		start = end
	}
	return results
}

// stopReason says why no further host may start, or "" when one may.
func stopReason(ctx context.Context, maxFailures, failed int) string {
	if ctx.Err() != nil {
		return context.Cause(ctx).Error()
	}
	if maxFailures > 0 && failed >= maxFailures {
		return fmt.Sprintf("not started: the rollout stopped after %d failed host(s)", failed)
	}
	return ""
}

// runOne runs run on r.Host and fills r in.
func runOne(ctx context.Context, r *Result, run func(ctx context.Context, host string) (Outcome, error)) {
	began := time.Now()
	out, err := run(ctx, r.Host)
	r.Duration = time.Since(began)
	r.Seconds = math.Round(r.Duration.Seconds()*10) / 10
	r.Result, r.Message, r.Detail = out.Result, out.Message, out.Detail
	r.Failed = err != nil
	if r.Result == "" {
		r.Result = resultDone
		if err != nil {
			r.Result = resultFailed
		}
	}
	if r.Message == "" && err != nil {
		r.Message = err.Error()
	}
}

// CheckHosts refuses an empty list and a context named twice, which would
// change the same daemon twice at the same time.
func CheckHosts(hosts []string) error {
	if len(hosts) == 0 {
		return fmt.Errorf("no context given")
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if seen[h] {
			return fmt.Errorf("context %q given twice", h)
		}
		seen[h] = true
	}
	return nil
}
