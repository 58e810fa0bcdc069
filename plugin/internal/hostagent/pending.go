package hostagent

import (
	"fmt"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// The policy for a record a new change finds on the host: while it holds
// an unfinished change, its agent may still restore the files or, gone, it
// left the only copy of their old contents there. Enable, disable, doctor
// and Arm all judge it here.

// Standing is how a record on the host stands for a new change.
type Standing int

// The standings of a record, from ReadStanding.
const (
	// StandingNone: no change is recorded.
	StandingNone Standing = iota
	// StandingFinished: its agent reverted; the client died before
	// collecting it.
	StandingFinished
	// StandingAgentRuns: unfinished, and its agent still runs.
	StandingAgentRuns
	// StandingAgentGone: unfinished, and its agent is gone: the record
	// holds the files' contents from before that change.
	StandingAgentGone
)

// DiscardedSuffix names the copy of a discarded record kept beside it.
const DiscardedSuffix = ".discarded"

// ReadRecord reads the record as it is, without a token or the lock: nil
// when there is none.
func ReadRecord(root hostfs.Root) (*Record, error) {
	var rec Record
	if found, err := root.ReadJSON(RecordPath, &rec); !found || err != nil {
		return nil, err
	}
	return &rec, nil
}

// ReadStanding reads the record and judges it; the record is nil for
// StandingNone.
func ReadStanding(root hostfs.Root) (*Record, Standing, error) {
	rec, err := ReadRecord(root)
	if err != nil || rec == nil {
		return nil, StandingNone, err
	}
	return rec, standingOf(root, rec), nil
}

func standingOf(root hostfs.Root, rec *Record) Standing {
	switch {
	case rec.Finished():
		return StandingFinished
	case agentAlive(root, rec.AgentPID):
		return StandingAgentRuns
	}
	return StandingAgentGone
}

// Describe names the recorded change for a person.
func (r *Record) Describe() string {
	return fmt.Sprintf("%s %s (phase %s, armed %s)", r.Action, r.Token, r.Phase, r.Armed.Format(time.RFC3339))
}

// errAgentRuns is the refusal of a new change while rec's agent runs.
func errAgentRuns(rec *Record) error {
	return fmt.Errorf("another change (%s) is unfinished on this host and its agent (pid %d) still runs: wait for it, or see %s",
		rec.Describe(), rec.AgentPID, RecordPath)
}

// Admit clears the way for a new change, or refuses it: a finished record
// is collected, an unfinished one is refused, and one whose agent is gone
// is dropped only when discard (a copy stays beside it). note says what
// was collected or dropped, for the operator; "" when nothing was.
func Admit(root hostfs.Root, discard bool) (note string, err error) {
	rec, standing, err := ReadStanding(root)
	if err != nil {
		return "", err
	}
	switch standing {
	case StandingNone:
		return "", nil
	case StandingFinished:
		// The revert is done, so the record goes, and the operator hears why.
		if _, err := root.RemoveFile(RecordPath, hostfs.WriteOptions{}); err != nil {
			return "", fmt.Errorf("collect %s: %w", RecordPath, err)
		}
		return fmt.Sprintf("the last change (%s) was reverted by the host agent: %s; its record is collected", rec.Describe(), rec.Reason), nil
	case StandingAgentRuns:
		return "", errAgentRuns(rec)
	}
	if !discard {
		return "", fmt.Errorf("an unfinished change (%s) is recorded in %s and its agent is gone: it holds the files' contents from before that change (see `docker userns doctor`); restore them if needed, then pass --discard-pending to drop the record",
			rec.Describe(), RecordPath)
	}
	data, err := root.ReadFile(RecordPath)
	if err != nil {
		return "", err
	}
	kept := RecordPath + DiscardedSuffix
	if _, err := root.WriteFile(kept, data, hostfs.WriteOptions{Perm: 0o600}); err != nil {
		return "", fmt.Errorf("discard %s: %w", RecordPath, err)
	}
	if _, err := root.RemoveFile(RecordPath, hostfs.WriteOptions{}); err != nil {
		return "", fmt.Errorf("discard %s: %w", RecordPath, err)
	}
	return fmt.Sprintf("discarded the unfinished change %s: its record is kept as %s", rec.Describe(), kept), nil
}
