package sshreach

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// pingUntilCancelled is a daemon whose ping waits, as one behind an ssh
// login that hangs does, until the caller gives up.
type pingUntilCancelled struct{ client.APIClient }

func (pingUntilCancelled) Ping(ctx context.Context, _ client.PingOptions) (client.PingResult, error) {
	<-ctx.Done()
	return client.PingResult{}, ctx.Err()
}

// Ctrl-C during the reach ends it at once: before, Check ran ssh a second
// time, without the cancelled context, to explain the failure (up to ssh's
// ConnectTimeout of 30 s on a host that does not answer).
func TestCheckEndsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- Check(ctx, pingUntilCancelled{}, "ssh://nobody@192.0.2.1") }()
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Check after Ctrl-C = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check still running 5s after Ctrl-C")
	}
}
