package remap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/poll"
	"github.com/docker-userns/docker-userns/plugin/internal/sshreach"
	"github.com/docker-userns/docker-userns/plugin/internal/steptrace"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// Pending is an armed change the client still has to verify and confirm.
type Pending struct {
	Token          string             `json:"token"`
	Expect         verify.Expectation `json:"expect"`
	LogPath        string             `json:"logPath,omitempty"`
	Files          []string           `json:"files,omitempty"`
	ConfirmTimeout time.Duration      `json:"confirmTimeout"`
}

// ClientEnv is what the client needs once the host agent is armed: the
// daemon's API, a probe binary, and a way to reach the agent.
type ClientEnv struct {
	API      client.APIClient
	Binary   string
	Timeout  time.Duration
	Progress io.Writer
	Control  Control
	// Restart sees the old daemon go away, when it was opened on it before
	// the host agent was armed (through the daemon, where the agent's
	// record is read only by starting a helper container). nil: the record
	// is read directly (Control is local), or, failing that, an outage is
	// waited for.
	Restart *daemon.RestartWatch
}

func (c ClientEnv) say(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// RevertedError says the host put its old config back: the daemon did not
// come back, or did not pass verification, or no confirmation came.
type RevertedError struct {
	Action string
	Reason string
	// Files are the files restored; DaemonBack whether the daemon answered
	// after the revert.
	Files      []string
	DaemonBack bool
	// Restarted says whether the daemon had been restarted with the
	// change (and so again to revert it).
	Restarted bool
	LogPath   string
}

func (e *RevertedError) Error() string {
	if e.DaemonBack && !e.Restarted {
		return fmt.Sprintf("%s: %s; restored %s before the daemon was restarted: it kept its old config throughout", e.Action, e.Reason, strings.Join(e.Files, ", "))
	}
	if !e.DaemonBack {
		return fmt.Sprintf("%s: %s; restored %s, but the daemon did not come back after the revert (daemon log: %s)", e.Action, e.Reason, strings.Join(e.Files, ", "), e.LogPath)
	}
	return fmt.Sprintf("%s: %s; restored %s and restarted: the daemon answers with its old config (daemon log: %s)", e.Action, e.Reason, strings.Join(e.Files, ", "), e.LogPath)
}

// Finish follows an armed change from the client: it waits for the agent's
// restart, verifies the new daemon through its API and a probe container,
// and confirms it, or asks the agent to revert. When the daemon does not
// come back, the agent reverts by itself and Finish reports why.
func Finish(ctx context.Context, c ClientEnv, out *Outcome) (Outcome, error) {
	p := out.Pending
	c.say("restarting: the host agent restarts the daemon and reverts by itself unless it is confirmed within %s", p.ConfirmTimeout)
	// Through the daemon, the verification starts as soon as the new daemon
	// answers, while a helper container reads the agent's phase; it counts
	// only if that phase is waiting for a confirmation.
	var early *verification
	rec, err := c.awaitRestart(ctx, p.Token, func() { early = c.startVerify(ctx, p.Expect) })
	if early != nil {
		defer early.remove()
	}
	if err != nil {
		return *out, fmt.Errorf("%s: %w", out.Action, err)
	}
	if rec.Phase == hostagent.Waiting {
		c.say("verifying through the daemon's API and a probe container")
		v := early
		if v == nil {
			v = c.startVerify(ctx, p.Expect)
			defer v.remove()
		}
		if failure := v.wait().apply(out); failure != nil {
			v.remove() // gone before the agent's revert restarts the daemon
			c.say("%v; asking the host to revert", failure)
			if _, err := c.Control.AskRevert(ctx, p.Token, failure.Error()); err != nil {
				return *out, fmt.Errorf("%s: %w; asking the host to revert failed: %v", out.Action, failure, err)
			}
		} else if kept, reverted, err := c.confirmRemoving(ctx, p.Token, v); kept {
			steptrace.Mark(steptrace.Confirmed)
			out.Pending = nil
			out.Result = carriedOut(out.Action)
			return *out, nil
		} else if err != nil {
			return *out, fmt.Errorf("%s: confirm: %w", out.Action, err)
		} else if reverted != nil {
			rec = reverted
		}
	}
	if early != nil {
		early.remove() // its probe is gone before the agent's revert restarts the daemon
	}
	if !rec.Finished() { // else awaitRestart collected the agent's revert already
		if rec, err = c.awaitRevert(ctx, p.Token); err != nil {
			return *out, fmt.Errorf("%s: %w", out.Action, err)
		}
	}
	if early != nil && rec.DaemonBack {
		// Again, now that the daemon answers for good, if the revert
		// restarted it under the first try.
		_ = early.remove()
	}
	out.Pending = nil
	out.Result = RolledBack
	return *out, &RevertedError{Action: out.Action, Reason: rec.Reason, Files: p.Files, DaemonBack: rec.DaemonBack, Restarted: rec.Restarted, LogPath: p.LogPath}
}

// confirm asks the agent to keep the change. Not kept and no error: the
// agent no longer waits for a confirmation and reverts; reverted is its
// record, collected, when the confirmation failed because that revert was
// under way. Over a slow link (every connection an ssh session) the
// agent's window can pass while the client verifies; its revert restarts
// the daemon under the helper that confirms, which then fails with the
// daemon gone ("dial unix /var/run/docker.sock: no such file", EOF). What
// happened is the revert, and that is what the client reports.
func (c ClientEnv) confirm(ctx context.Context, token string) (kept bool, reverted *hostagent.Record, err error) {
	_, err = c.Control.Confirm(ctx, token)
	switch {
	case err == nil:
		return true, nil, nil
	case errors.Is(err, hostagent.ErrNotWaiting):
		return false, nil, nil
	}
	// A record that is gone was confirmed (the answer was lost): the
	// confirmation's own error stands.
	if rec, rerr := c.awaitRevert(ctx, token); rerr == nil {
		return false, rec, nil
	}
	return false, nil, err
}

// confirmRemoving is confirm while the verification's probe container and
// image are removed: neither waits for the other. A probe that could not
// be removed is said, not reverted for. Should the agent have given up
// waiting meanwhile, its revert may restart the daemon before the removal
// is done, stranding the probe in the remapped data root (swept by the
// next run on that data root: sweep.Beside).
func (c ClientEnv) confirmRemoving(ctx context.Context, token string, v *verification) (kept bool, reverted *hostagent.Record, err error) {
	removed := make(chan error, 1)
	go func() { removed <- v.remove() }()
	kept, reverted, err = c.confirm(ctx, token)
	if rmErr := <-removed; rmErr != nil {
		c.say("WARNING: %v", rmErr)
	}
	return kept, reverted, err
}

// restartAllowance is how long the agent may take before it restarts: it
// first waits (up to 30 s) for the client to remove its helper.
const restartAllowance = 30 * time.Second

// awaitRestart waits until the host agent has restarted the daemon and the
// new one answered (or the agent gave up on it), and returns the agent's
// record; a finished one (the agent reverted already) it has collected,
// as awaitRevert would. What tells is what changed, not an outage: under
// systemd socket activation the API never goes down across a restart. On
// the host itself that is the agent's own phase; through the daemon, where
// reading it starts a helper container, the old daemon's end (its event
// stream), and only then the phase. No helper runs while the old daemon
// may still be stopped: its container would be stranded there.
//
// ready is called once, when a daemon first answers after the old one was
// seen gone (through the daemon only): the new one, or the old config's.
func (c ClientEnv) awaitRestart(ctx context.Context, token string, ready func()) (*hostagent.Record, error) {
	if local, ok := c.Control.(LocalControl); ok {
		return c.awaitPhase(ctx, local, token)
	}
	var seen bool
	if c.Restart != nil {
		defer c.Restart.Close()
		select {
		case <-c.Restart.Gone():
			seen = true
		case <-time.After(c.Timeout + restartAllowance):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	} else {
		switch err := waitDown(ctx, c.API, c.Timeout+restartAllowance); {
		case err == nil:
			seen = true
		case !errors.Is(err, poll.ErrTimeout):
			return nil, err
		}
	}
	if !seen {
		rec, err := c.Control.Collect(ctx, token)
		if err != nil {
			return nil, fmt.Errorf("the daemon was never seen restarting, and the host agent does not answer: %w", err)
		}
		if rec.Phase == hostagent.Armed {
			return nil, fmt.Errorf("the host agent has not restarted the daemon after %s (armed change %s)", c.Timeout+restartAllowance, token)
		}
		if rec.Phase != hostagent.Restarting {
			return rec, nil
		}
		// The daemon that answers next may still be the old one.
		ready = nil
	}
	// No deadline of its own: each round's WaitReady has one.
	var past *hostagent.Record
	err := poll.Until(ctx, 0, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		// Up to twice the timeout: the new daemon's, then the revert's.
		if _, err := daemon.WaitReady(ctx, c.API, 2*c.Timeout); err != nil {
			return false, fmt.Errorf("the daemon did not answer again within %s, not even with the old config the host agent restores: %w", 2*c.Timeout, err)
		}
		if ready != nil {
			ready()
			ready = nil
		}
		// Collect, not Status: a read, unless the agent has already
		// reverted (a daemon that could not start), when it also takes
		// the finished record, saving the helper round trip of
		// awaitRevert (each one a helper container).
		rec, err := c.Control.Collect(ctx, token)
		if err != nil {
			if isUnreachable(err) {
				return false, nil // the agent is restarting the daemon again, to revert
			}
			return false, fmt.Errorf("ask the host agent: %w", err)
		}
		if rec.Phase != hostagent.Restarting && rec.Phase != hostagent.Armed {
			past = rec
		}
		return past != nil, nil
	})
	return past, err
}

// awaitPhase reads the agent's record on this host until the agent is past
// restarting: waiting for a confirmation, or reverting by itself.
func (c ClientEnv) awaitPhase(ctx context.Context, local LocalControl, token string) (*hostagent.Record, error) {
	// The restart's bound, then the revert's, which may follow at once.
	bound := 2*c.Timeout + restartAllowance
	var rec *hostagent.Record
	err := poll.Until(ctx, bound, recordPoll, func(ctx context.Context) (bool, error) {
		var err error
		if rec, err = local.Status(ctx, token); err != nil {
			return false, fmt.Errorf("ask the host agent: %w", err)
		}
		return rec.Finished() || (rec.Phase != hostagent.Armed && rec.Phase != hostagent.Restarting), nil
	})
	switch {
	case errors.Is(err, poll.ErrTimeout):
		return nil, fmt.Errorf("the host agent is still %s after %s (armed change %s)", rec.Phase, bound, token)
	case err != nil:
		return nil, err
	case rec.Finished():
		return local.Collect(ctx, token)
	}
	return rec, nil
}

// recordPoll is how often the client reads the agent's record on this
// host: a file read, cheap, and on enable's path from the daemon's start
// to the verification.
const recordPoll = 25 * time.Millisecond

// awaitRevert waits until the agent has reverted, collecting its record.
func (c ClientEnv) awaitRevert(ctx context.Context, token string) (*hostagent.Record, error) {
	var finished *hostagent.Record
	err := poll.Until(ctx, 3*c.Timeout, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if _, err := daemon.WaitReady(ctx, c.API, 2*c.Timeout); err != nil {
			return false, fmt.Errorf("the daemon did not answer after the host agent's revert: %w", err)
		}
		rec, err := c.Control.Collect(ctx, token)
		if err == nil && rec.Finished() {
			finished = rec
			return true, nil
		}
		if errors.Is(err, hostagent.ErrNoRecord) {
			// The agent could not write its record (a full /var) and
			// reverts without it.
			return false, fmt.Errorf("the host agent's record is gone: it reverts without it; what it did is in %s and the journal (journalctl -t %s) on the host", hostagent.LogPath, hostagent.SyslogTag)
		}
		if err != nil && !isUnreachable(err) {
			return false, fmt.Errorf("ask the host agent: %w", err)
		}
		return false, nil
	})
	if errors.Is(err, poll.ErrTimeout) {
		return nil, fmt.Errorf("the host agent did not finish its revert within %s", 3*c.Timeout)
	}
	return finished, err
}

// verification is a check of the new daemon running on its own.
type verification struct {
	done   chan struct{}
	checks verify.Report
	state  *daemon.State
	err    error
	// cleanup removes the probe's container and image (remove).
	cleanup func() error
	mu      sync.Mutex
	removed bool
}

// startVerify checks the new daemon against exp, meanwhile.
func (c ClientEnv) startVerify(ctx context.Context, exp verify.Expectation) *verification {
	v := &verification{done: make(chan struct{})}
	go func() {
		defer close(v.done)
		steptrace.Mark(steptrace.VerifyBegin)
		v.checks, v.state, v.cleanup, v.err = c.verify(ctx, exp)
	}()
	return v
}

// wait returns the verification once it has ended.
func (v *verification) wait() *verification {
	<-v.done
	return v
}

// remove removes the verification's probe container and image once it has
// ended. A call after one that failed tries again: the daemon may have
// been restarting under it (the agent's revert kills a daemon of the old
// config that its supervisor had started already).
func (v *verification) remove() error {
	v.wait()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.removed {
		return nil
	}
	if err := v.cleanup(); err != nil {
		return err
	}
	v.removed = true
	return nil
}

// apply records the checks and the daemon's state in out and returns why
// the verification failed, if it did.
func (v *verification) apply(out *Outcome) error {
	out.Checks = v.checks
	if v.err == nil {
		out.Daemon = v.state
	}
	return v.err
}

// verify checks the new daemon against exp; cleanup removes its probe.
func (c ClientEnv) verify(ctx context.Context, exp verify.Expectation) (verify.Report, *daemon.State, func() error, error) {
	res, err := verify.Daemon(ctx, c.API, c.Binary, exp)
	if err != nil {
		return res.Report, nil, res.Remove, fmt.Errorf("verify: %w", err)
	}
	if failed := res.Report.Failed(); len(failed) > 0 {
		f := failed[0]
		return res.Report, nil, res.Remove, fmt.Errorf("verify: %s: expected %s, observed %s", f.Name, f.Expected, f.Observed)
	}
	return res.Report, &res.State, res.Remove, nil
}

// waitDown polls until the daemon stops answering (nil), within timeout
// (poll.ErrTimeout). A ping that failed because ctx ended is no outage:
// waitDown returns ctx's error then.
func waitDown(ctx context.Context, api client.APIClient, timeout time.Duration) error {
	return poll.Until(ctx, timeout, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := api.Ping(reqCtx, client.PingOptions{})
		cancel()
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return err != nil, nil
	})
}

// isUnreachable is true for errors of a daemon that went away meanwhile,
// told by their types as the API client (moby/moby/client v0.6.2) and
// net/http return them:
//   - a request that could not connect (refused, socket missing, and over
//     ssh any transport failure): errConnectionFailed, from
//     request.go doRequest;
//   - a hijacked stream's dial (attach, hijack.go setupHijackConn wraps the
//     dialer's *net.OpError);
//   - a connection the daemon dropped mid-answer: io.EOF or
//     io.ErrUnexpectedEOF (net/http returns the connection's read error),
//     or a reset;
//   - over ssh, the far side's dial-stdio that exited because the socket is
//     gone: sshreach.TunnelError;
//   - a request's own deadline.
func isUnreachable(err error) bool {
	var dial *net.OpError
	var tunnel *sshreach.TunnelError
	return client.IsErrConnectionFailed(err) ||
		errors.As(err, &dial) && dial.Op == "dial" ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &tunnel) ||
		errors.Is(err, context.DeadlineExceeded)
}
