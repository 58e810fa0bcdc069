package remap

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon/daemontest"
)

// answeringDaemon is a daemon's API socket that answers every ping, reached
// through the real API client.
func answeringDaemon(t *testing.T) client.APIClient {
	api, _ := daemontest.APIOnSocket(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Api-Version", "1.44")
		_, _ = w.Write([]byte("OK"))
	}))
	return api
}

// A cancelled command has not seen the daemon go down: the ping that
// fails on its context is not an outage (before, waitDown said "down").
func TestWaitDownCancelledIsNotDown(t *testing.T) {
	api := answeringDaemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitDown(ctx, api, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("waitDown on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestWaitDownStillUp(t *testing.T) {
	api := answeringDaemon(t)
	if err := waitDown(context.Background(), api, 100*time.Millisecond); err == nil {
		t.Fatal("waitDown said a daemon that answers went down")
	}
}

func TestWaitDownGone(t *testing.T) {
	api := daemontest.APIAt(t, filepath.Join(t.TempDir(), "docker.sock"))
	if err := waitDown(context.Background(), api, time.Minute); err != nil {
		t.Fatalf("waitDown on a missing socket = %v, want nil (down)", err)
	}
}
