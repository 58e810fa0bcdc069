package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// countedInfo answers Info with the number of the call as its ID, failing
// the calls listed in fail.
type countedInfo struct {
	client.APIClient
	calls int
	fail  map[int]bool
}

func (c *countedInfo) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	c.calls++
	if c.fail[c.calls] {
		return client.SystemInfoResult{}, errors.New("daemon busy")
	}
	return client.SystemInfoResult{Info: system.Info{ID: string(rune('0' + c.calls))}}, nil
}

// TestOneInfo: the first answer serves every later Info; a failure is not
// kept; ForgetInfo asks again.
func TestOneInfo(t *testing.T) {
	ctx := context.Background()
	daemon := &countedInfo{fail: map[int]bool{1: true}}
	api := OneInfo(daemon)
	if _, err := api.Info(ctx, client.InfoOptions{}); err == nil {
		t.Fatal("the first call's failure was not passed on")
	}
	for range 3 {
		if res, err := api.Info(ctx, client.InfoOptions{}); err != nil || res.Info.ID != "2" {
			t.Fatalf("Info: %q %v, want the second call's answer", res.Info.ID, err)
		}
	}
	ForgetInfo(api)
	if res, _ := api.Info(ctx, client.InfoOptions{}); res.Info.ID != "3" || daemon.calls != 3 {
		t.Errorf("after ForgetInfo: answer %q after %d calls, want a third call's", res.Info.ID, daemon.calls)
	}
	ForgetInfo(daemon) // not a OneInfo: nothing to forget
}
