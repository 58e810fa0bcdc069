package remap

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
)

// goneRecord is a host agent whose record vanished: it could not write it
// (a full /var) and reverts without it.
type goneRecord struct{ Control }

func (goneRecord) Collect(context.Context, string) (*hostagent.Record, error) {
	return nil, hostagent.ErrNoRecord
}

// TestAwaitRevertWithoutARecordSaysWhereTheAgentLogs (issue 12, case 9):
// the client tells the operator the agent reverts without its record and
// where it says what it did, not a bare "no armed change".
func TestAwaitRevertWithoutARecordSaysWhereTheAgentLogs(t *testing.T) {
	c := ClientEnv{API: fakeDaemon{info: system.Info{ServerVersion: "test"}}, Timeout: time.Second, Control: goneRecord{}}
	_, err := c.awaitRevert(context.Background(), "0123456789abcdef")
	if err == nil || !strings.Contains(err.Error(), hostagent.LogPath) {
		t.Errorf("got %v, want an error naming %s", err, hostagent.LogPath)
	}
}
