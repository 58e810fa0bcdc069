package remap

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
)

// sessionReplies decodes what a control session printed.
func sessionReplies(t *testing.T, out string) []SessionReply {
	t.Helper()
	var replies []SessionReply
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r SessionReply
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("session output %q: %v", out, err)
		}
		replies = append(replies, r)
	}
	return replies
}

// TestRunSession: a session says the agent's phase once it is past
// restarting (at once when the agent has not begun), then serves one
// request from its stdin; a stdin that ends (the client gone) acts on
// nothing, so the agent reverts on its own timer.
func TestRunSession(t *testing.T) {
	for _, c := range []struct {
		name      string
		phase     hostagent.Phase
		stdin     string
		wantTo    []string
		wantPhase hostagent.Phase
		wantGone  bool // the record removed: confirmed
	}{
		{"waiting, confirmed", hostagent.Waiting, "confirm\n", []string{SessionPhase, SessionConfirm}, hostagent.Waiting, true},
		{"waiting, client gone", hostagent.Waiting, "", []string{SessionPhase}, hostagent.Waiting, false},
		{"waiting, revert asked", hostagent.Waiting, "revert the probe failed\n", []string{SessionPhase, SessionRevert}, hostagent.RevertAsked, false},
		{"armed: said at once, no request taken", hostagent.Armed, "confirm\n", []string{SessionPhase}, hostagent.Armed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, token := armedRoot(t)
			setPhase(t, root, token, c.phase)
			var out bytes.Buffer
			if code := runSession(LocalControl{Root: root}, token, 10*time.Second, strings.NewReader(c.stdin), &out); code != 0 {
				t.Fatalf("exit %d: %s", code, out.String())
			}
			replies := sessionReplies(t, out.String())
			var to []string
			for _, r := range replies {
				to = append(to, r.To)
				if r.Status != 0 {
					t.Errorf("%s: status %d: %s", r.To, r.Status, r.Error)
				}
			}
			if strings.Join(to, ",") != strings.Join(c.wantTo, ",") {
				t.Fatalf("answers to %v, want %v", to, c.wantTo)
			}
			rec, err := hostagent.Lookup(root, token)
			if c.wantGone {
				if !errors.Is(err, hostagent.ErrNoRecord) {
					t.Errorf("record after a confirmation: %v, %v", rec, err)
				}
				return
			}
			if err != nil || rec.Phase != c.wantPhase {
				t.Errorf("record after: %v, %v; want phase %s", rec, err, c.wantPhase)
			}
		})
	}
}

// TestRunSessionWaitsOutTheRestart: while the agent restarts the daemon
// the session says no phase; at its deadline it says only that it ran out.
func TestRunSessionWaitsOutTheRestart(t *testing.T) {
	root, token := armedRoot(t)
	setPhase(t, root, token, hostagent.Restarting)
	stdin, client := io.Pipe() // a client that stays and asks nothing
	defer client.Close()
	var out bytes.Buffer
	code := runSession(LocalControl{Root: root}, token, 300*time.Millisecond, stdin, &out)
	r := sessionReplies(t, out.String())
	if code != 1 || len(r) != 1 || r[0].Record != nil || r[0].Status != 1 || !strings.Contains(r[0].Error, "no request within") {
		t.Errorf("exit %d, answers %+v: want only the deadline's", code, r)
	}
	if rec, err := hostagent.Lookup(root, token); err != nil || rec.Phase != hostagent.Restarting {
		t.Errorf("record after: %v, %v", rec, err)
	}
}
