package hostagent

import (
	"errors"
	"fmt"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
)

// The reason a failed wait leaves in the record: the daemon's own words
// as they are, recognised by type wherever they were wrapped; anything
// else as a daemon that did not come back.
func TestReasonOf(t *testing.T) {
	said := startFailure{said: "failed to start daemon: invalid userns-remap"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"the log's reason", said, "daemon cannot start: its log says: failed to start daemon: invalid userns-remap"},
		{"the log's reason, wrapped", fmt.Errorf("wait: %w", said), "wait: daemon cannot start: its log says: failed to start daemon: invalid userns-remap"},
		{"a timeout", errors.New("daemon did not answer within 1m0s: connection refused"), "daemon did not come back: daemon did not answer within 1m0s: connection refused"},
		// Words alone are not the log's reason: a client's revert reason
		// that starts with them is still a daemon that did not come back.
		{"the words without the type", errors.New("daemon cannot start, says the client"), "daemon did not come back: daemon cannot start, says the client"},
		{"a hanging start", daemon.ErrStartHangs, "daemon did not come back: " + daemon.ErrStartHangs.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reasonOf(tc.err); got != tc.want {
				t.Errorf("reasonOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
