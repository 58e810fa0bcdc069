package remap

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// fakeAgent stands for the host agent: once a revert is asked, it marks
// the record reverted, with the daemon back.
func fakeAgent(t *testing.T, root hostfs.Root, stop <-chan struct{}) <-chan string {
	asked := make(chan string, 1)
	goUntilCleanup(t, func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			data, err := root.ReadFile(hostagent.RecordPath)
			if err != nil {
				continue
			}
			var rec hostagent.Record
			if json.Unmarshal(data, &rec) != nil || rec.Phase != hostagent.RevertAsked {
				continue
			}
			asked <- rec.Reason
			rec.Phase, rec.DaemonBack = hostagent.Reverted, true
			data, _ = json.Marshal(rec)
			if _, err := root.WriteFile(hostagent.RecordPath, data, hostfs.WriteOptions{Perm: 0o600}); err != nil {
				t.Error(err)
			}
			return
		}
	})
	return asked
}

// TestInterruptedClientAsksTheAgentToRevert is issue 12 case 12: a client
// interrupted (Ctrl-C) while it waits on the restart asks the agent to
// revert at once, waits for it and says so, instead of leaving the host to
// revert on its timer behind a misleading error.
func TestInterruptedClientAsksTheAgentToRevert(t *testing.T) {
	env := testEnv(t, hostfstest.Tree(t, baseHost()))
	token := hostagent.NewToken()
	if err := hostagent.Arm(env.Root, &hostagent.Record{Token: token, Action: "enable", Timeout: time.Second, ConfirmTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	asked := fakeAgent(t, env.Root, stop)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C while the agent restarts
	out := &Outcome{Action: "enable", Pending: &Pending{Token: token, Files: []string{SubUIDPath}, ConfirmTimeout: time.Minute}}
	_, err := FinishOrRevert(ctx, env.Client(), out)
	var reverted *RevertedError
	if !errors.As(err, &reverted) || reverted.Reason != InterruptedReason || !reverted.DaemonBack {
		t.Fatalf("want a revert for the interruption, got %v", err)
	}
	select {
	case reason := <-asked:
		if reason != InterruptedReason {
			t.Errorf("the agent was asked to revert for %q", reason)
		}
	default:
		t.Error("the agent was never asked to revert")
	}
	if env.Root.Exists(hostagent.RecordPath) {
		t.Error("the finished record was not collected")
	}
}

// unaskable reaches the agent's record but cannot ask for a revert: the
// helper that would ask did not get through (a connection lost for good).
type unaskable struct{ LocalControl }

func (unaskable) AskRevert(context.Context, string, string) (*hostagent.Record, error) {
	return nil, errors.New("helper: connection lost")
}

// TestInterruptedClientSaysWhatBecameOfTheChange is issue 23 case 11 at
// the level of the function: an interrupted client that could not ask the
// agent to revert says what the agent's record says, not that the host
// "reverts by itself" when the change was already confirmed.
func TestInterruptedClientSaysWhatBecameOfTheChange(t *testing.T) {
	for _, tc := range []struct {
		name    string
		phase   hostagent.Phase // "": no record (confirmed)
		wantErr string          // "": kept
	}{
		{"confirmed", "", ""},
		{"waiting", hostagent.Waiting, "the agent is waiting, and reverts by itself unless confirmed within 1m0s"},
		{"reverting", hostagent.Reverting, "but the agent is reverting already (no daemon)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, hostfstest.Tree(t, baseHost()))
			token := hostagent.NewToken()
			if tc.phase != "" {
				rec := &hostagent.Record{Token: token, Action: "enable", Timeout: time.Second, ConfirmTimeout: time.Minute}
				if err := hostagent.Arm(env.Root, rec); err != nil {
					t.Fatal(err)
				}
				rec.Phase, rec.Reason = tc.phase, "no daemon"
				if err := env.Root.WriteJSON(hostagent.RecordPath, rec); err != nil {
					t.Fatal(err)
				}
			}
			var said strings.Builder
			c := env.Client()
			c.Progress, c.Control = &said, unaskable{LocalControl{Root: env.Root}}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			out := &Outcome{Action: "enable", Pending: &Pending{Token: token, ConfirmTimeout: time.Minute}}
			res, err := FinishOrRevert(ctx, c, out)
			if tc.wantErr == "" {
				if err != nil || res.Result != Enabled || !strings.Contains(said.String(), "the enable is kept") {
					t.Fatalf("confirmed change: %v, result %q, said:\n%s", err, res.Result, said.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}
