package helper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// sessions are the control sessions of a Control after the restart: one
// helper container that says when the agent is past restarting and then
// takes the confirmation or the revert on its stdin (remap's session.go),
// so that only one helper starts between the restart and the verdict.
type sessions struct {
	// Wait bounds a session's wait on the host for the agent's phase.
	Wait time.Duration

	mu   sync.Mutex
	open *session
}

// session is one running control session.
type session struct {
	token   string
	att     *probe.Attached
	replies chan remap.SessionReply
	// phase is its first answer, once read; pending one that is not.
	phase *remap.SessionReply
}

// start starts a session for token on the runner's (kept) image.
func (s *sessions) start(ctx context.Context, r Runner, token string) (*session, error) {
	args := []string{remap.ControlCommand, "session", "--root", HostMount, token, s.Wait.String()}
	img, err := r.image(ctx)
	if err != nil {
		return nil, fmt.Errorf("helper: %w", err)
	}
	att, err := img.Start(ctx, r.runOptions(img, args))
	if err != nil && r.kept != nil && cerrdefs.IsNotFound(err) {
		// The daemon restarted onto another data root since the import.
		_ = att.Remove()
		r.kept.forget(img)
		if img, err = r.image(ctx); err != nil {
			return nil, fmt.Errorf("helper: %w", err)
		}
		att, err = img.Start(ctx, r.runOptions(img, args))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("helper: %w", err), att.Remove())
	}
	se := &session{token: token, att: att, replies: make(chan remap.SessionReply, 2)}
	go func() {
		defer close(se.replies)
		lines := bufio.NewScanner(att.Stdout)
		for lines.Scan() {
			var r remap.SessionReply
			if json.Unmarshal(lines.Bytes(), &r) == nil {
				se.replies <- r
			}
		}
	}()
	return se, nil
}

// next is the session's next answer to to; answers to other requests (a
// phase said while a request was on its way) are skipped.
func (se *session) next(ctx context.Context, to string) (remap.SessionReply, error) {
	for {
		select {
		case r, ok := <-se.replies:
			if !ok {
				res, _ := se.att.Wait(ctx)
				return remap.SessionReply{}, fmt.Errorf("helper session ended without an answer: %w", Failure(res))
			}
			if r.To == remap.SessionPhase && to != remap.SessionPhase {
				continue
			}
			return r, nil
		case <-ctx.Done():
			return remap.SessionReply{}, ctx.Err()
		}
	}
}

// end waits for the session's container to exit and removes it.
func (se *session) end(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sessionEndWait)
	defer cancel()
	_, _ = se.att.Wait(wctx)
	return se.att.Remove()
}

// sessionEndWait bounds the wait for a session that answered to exit.
const sessionEndWait = 10 * time.Second

// phase starts a session (or takes the one open) and returns the agent's
// record once it is past restarting; a session that then waits for no
// request has ended and is removed.
func (s *sessions) phase(ctx context.Context, r Runner, token string) (*hostagent.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.open
	if se == nil || se.token != token || se.phase != nil {
		if se != nil {
			_ = se.end(ctx)
			s.open = nil
		}
		var err error
		if se, err = s.start(ctx, r, token); err != nil {
			return nil, err
		}
		s.open = se
	}
	reply, err := se.next(ctx, remap.SessionPhase)
	if err != nil {
		if ctx.Err() == nil {
			_ = se.end(ctx)
			s.open = nil
		}
		return nil, err
	}
	se.phase = &reply
	if reply.Status != 0 || reply.Record == nil || reply.Record.Phase != hostagent.Waiting {
		_ = se.end(ctx)
		s.open = nil
	}
	return reply.Record, replyErr(reply)
}

// request sends a request to the open session of token and returns its
// answer; served is false when no session can take it (none open, or its
// stdin gone), and the caller runs a helper of its own.
func (s *sessions) request(ctx context.Context, r Runner, token, request, to string) (rec *hostagent.Record, served bool, err error) {
	if r.toEnd != nil {
		// A request sent is let end, as a helper of its own would be: a
		// confirmation cut short leaves the client unsure of its own change.
		var cancel context.CancelFunc
		ctx, cancel = r.toEnd.outlive(ctx)
		defer cancel()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.open
	if se == nil || se.token != token {
		return nil, false, nil
	}
	s.open = nil
	if err := se.att.Send(request); err != nil {
		_ = se.end(ctx)
		return nil, false, nil
	}
	reply, err := se.next(ctx, to)
	// Gone before the answer is used: after a revert the agent waits for
	// the session's container to be removed before it restarts.
	endErr := se.end(ctx)
	if err != nil {
		return nil, false, nil
	}
	if err := replyErr(reply); err != nil {
		return reply.Record, true, err
	}
	if endErr != nil {
		return reply.Record, true, &RemoveError{Err: endErr}
	}
	return reply.Record, true, nil
}

// close removes a session still open.
func (s *sessions) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		return nil
	}
	err := s.open.end(ctx)
	s.open = nil
	return err
}

// replyErr is the error a session's answer carries, as Control.run words
// a helper's exit status.
func replyErr(r remap.SessionReply) error {
	return statusErr(r.Status, r.Error)
}
