package remap

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// infoCounter counts the Info calls that reach the daemon.
type infoCounter struct {
	client.APIClient
	calls atomic.Int32
}

func (c *infoCounter) Info(ctx context.Context, opts client.InfoOptions) (client.SystemInfoResult, error) {
	c.calls.Add(1)
	return c.APIClient.Info(ctx, opts)
}

// TestEnableAsksTheDaemonsInfoOnce: the checks before the change (the
// daemon's version and data root, the work a move of it hides) share one
// Info, which costs the daemon two forks each time.
func TestEnableAsksTheDaemonsInfoOnce(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	counter := &infoCounter{APIClient: env.API}
	env.API = counter
	out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Work == nil {
		t.Fatalf("enable did not look at the daemon's work (the data root moves): %+v", out)
	}
	if n := counter.calls.Load(); n != 1 {
		t.Errorf("Info asked %d times, want once", n)
	}
}
