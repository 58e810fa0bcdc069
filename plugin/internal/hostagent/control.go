package hostagent

import (
	"errors"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Arm saves a new record in phase Armed. It refuses while another change is
// armed and unfinished: two agents must never restart one daemon.
func Arm(root hostfs.Root, rec *Record) error {
	return locked(root, func() error {
		cur, err := load(root)
		switch {
		case errors.Is(err, ErrNoRecord):
		case err != nil:
			return err
		case standingOf(root, cur) == StandingAgentRuns:
			return errAgentRuns(cur)
		}
		rec.Phase = Armed
		return save(root, rec)
	})
}

// Disarm removes a record whose agent could not be started.
func Disarm(root hostfs.Root, token string) error {
	_, err := update(root, token, func(*Record) error { return errDrop })
	return err
}

// Lookup returns the record of token as it is now.
// It only reads: the agent asks it ten times a second.
func Lookup(root hostfs.Root, token string) (*Record, error) {
	var rec *Record
	err := locked(root, func() error {
		var err error
		rec, err = loadToken(root, token)
		return err
	})
	return rec, err
}

// ErrNotWaiting is returned by Confirm when the agent is not (or no longer)
// waiting for a confirmation: it restarts still, or reverts.
var ErrNotWaiting = errors.New("the agent is not waiting for a confirmation")

// Confirm keeps the change: the record is removed and the agent, seeing it
// gone, exits. It fails with ErrNotWaiting, and the record, when the agent
// is past waiting (reverting by itself).
func Confirm(root hostfs.Root, token string) (*Record, error) {
	rec, err := update(root, token, func(r *Record) error {
		if r.Phase != Waiting {
			return ErrNotWaiting
		}
		return errDrop
	})
	return rec, err
}

// AskRevert asks the agent to revert now, for reason, once the asking
// helper's leftovers are gone; a record already past waiting is left as
// it is.
func AskRevert(root hostfs.Root, token, reason string, left HelperObjects) (*Record, error) {
	return update(root, token, func(r *Record) error {
		if r.Phase == Armed || r.Phase == Restarting || r.Phase == Waiting {
			r.Phase, r.Reason, r.Helper = RevertAsked, reason, left
		}
		return nil
	})
}

// Collect returns a finished record and removes it, so that nothing but the
// backups stays on the host; an unfinished one is returned as it is, and
// not written back: a read must not put back a phase a writer just moved
// on (the client reads every 25 ms while the agent writes).
func Collect(root hostfs.Root, token string) (*Record, error) {
	return update(root, token, func(r *Record) error {
		if r.Finished() {
			return errDrop
		}
		return errUnchanged
	})
}
