package remap

import (
	"context"
	"encoding/json"
	"errors"
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
	go func() {
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
	}()
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
