package hostagent

import (
	"context"
	"testing"
)

// A revert after a daemon that cannot start must not wait for the helper
// leftovers seen gone before the restart: asking the dead daemon about them
// only fails, until leftoverTimeout (30 s) passed. The agent's api is nil
// here: any question to the daemon would panic.
func TestRevertDoesNotWaitForAHelperSeenGone(t *testing.T) {
	left := HelperObjects{Container: "docker-userns-helper-1", Image: "docker-userns-probe:1"}
	a := &agent{rec: &Record{Helper: left}, gone: left}
	// A wait would ask the (nil) api and panic: no clock is needed.
	if reason := a.waitHelperGone(context.Background(), false); reason != "" {
		t.Fatalf("waitHelperGone = %q", reason)
	}
}
