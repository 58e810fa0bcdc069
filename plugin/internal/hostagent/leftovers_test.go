package hostagent

import (
	"context"
	"testing"
	"time"
)

// A revert after a daemon that cannot start must not wait for the helper
// leftovers seen gone before the restart: asking the dead daemon about them
// only fails, until leftoverTimeout (30 s) passed. The agent's api is nil
// here: any question to the daemon would panic.
func TestRevertDoesNotWaitForLeftoversSeenGone(t *testing.T) {
	left := Leftovers{Container: "docker-userns-helper-1", Image: "docker-userns-probe:1"}
	a := &agent{rec: &Record{Leftovers: left}, gone: left}
	start := time.Now()
	if reason := a.waitLeftoversGone(context.Background(), false); reason != "" {
		t.Fatalf("waitLeftoversGone = %q", reason)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("waited %s for leftovers already gone", took)
	}
}
