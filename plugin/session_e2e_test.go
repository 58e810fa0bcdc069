package main_test

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// TestSessionCutBeforeConfirmThroughTheDaemon: through the daemon one
// control session serves the agent's phase and then the confirmation
// (issue 28). A client killed outright after the restart, while its
// session is about to say the phase (paused there by a gate), has sent no
// confirmation: the session, once its stdin ends with the client's attach,
// acts on nothing, and the agent reverts by itself when its confirmation
// window passes: the files as before, the daemon answering unremapped,
// the agent's record saying why.
func TestSessionCutBeforeConfirmThroughTheDaemon(t *testing.T) {
	for _, v := range harness.Versions() {
		t.Run(v.Name, func(t *testing.T) {
			h := newInterrupted(t, v, false)
			h.gate("session")
			c := startCLI(t, h.config, "--context", "h1", "userns", "enable", "--confirm-timeout", "10s", "agent")
			h.waitReached("session", c)
			if err := syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			c.wait(t, time.Minute)
			h.release("session")

			var rec struct {
				Phase  string `json:"phase"`
				Reason string `json:"reason"`
			}
			until(t, "the agent reverts by itself", 3*time.Minute, func() bool {
				raw, _ := h.record()
				if raw == "" {
					// Only a confirmation removes an uncollected record.
					t.Fatalf("the agent's record is gone: the change was confirmed with no client")
				}
				return json.Unmarshal([]byte(raw), &rec) == nil && rec.Phase == "reverted"
			})
			t.Logf("the agent's record: %s: %s", rec.Phase, rec.Reason)
			if files := h.hashes(); files != h.before {
				t.Errorf("the host's files after the cut session:\n%s\nwant them as before:\n%s", files, h.before)
			}
			if h.remapped() {
				t.Errorf("the daemon remaps after a session cut before the confirmation")
			}
			if running := h.d.MustExec(t, "docker", "ps", "-q", "--filter", "name=docker-userns-helper"); running != "" {
				t.Errorf("a helper still runs after its client was killed: %s", running)
			}
		})
	}
}
