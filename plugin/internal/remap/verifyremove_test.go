package remap

import (
	"errors"
	"testing"
)

// TestVerificationRemoveTriesAgainAfterAFailure: a probe whose removal
// failed (the agent's revert restarted the daemon under it) is removed by
// the next call, once the daemon answers again (f372429: TestFleetRollout
// left a probe image on a reverted host when the first error was final);
// once removed, it is not removed again.
func TestVerificationRemoveTriesAgainAfterAFailure(t *testing.T) {
	calls := 0
	v := &verification{done: make(chan struct{}), cleanup: func() error {
		calls++
		if calls == 1 {
			return errors.New("daemon restarting")
		}
		return nil
	}}
	close(v.done)
	if err := v.remove(); err == nil {
		t.Fatal("first remove: want the cleanup's error")
	}
	if err := v.remove(); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if err := v.remove(); err != nil || calls != 2 {
		t.Fatalf("third remove: err %v, cleanup called %d times, want 2", err, calls)
	}
}
