package daemon

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon/daemontest"
)

// noDaemon is the real API client at a socket no daemon listens on.
func noDaemon(t *testing.T) client.APIClient {
	t.Helper()
	return daemontest.APIAt(t, filepath.Join(t.TempDir(), "docker.sock"))
}

func TestWaitReadyTimeoutSaysWhy(t *testing.T) {
	_, err := WaitReady(context.Background(), noDaemon(t), 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "daemon did not answer within 100ms") || !client.IsErrConnectionFailed(err) {
		t.Fatalf("WaitReady = %v, want the timeout wrapping the connection failure", err)
	}
}

// The log's reason ends the wait at once, as it is.
func TestWaitReadyOrFailGivesUpOnTheLogsReason(t *testing.T) {
	said := errors.New("daemon cannot start: its log says: invalid userns-remap")
	_, err := WaitReadyOrFail(context.Background(), noDaemon(t), time.Hour, func() error { return said })
	if !errors.Is(err, said) {
		t.Fatalf("WaitReadyOrFail = %v, want the log's reason", err)
	}
}

// Ctrl-C ends the wait at once, not at its timeout.
func TestWaitReadyEndsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	asked := make(chan struct{}, 1)
	result := make(chan error, 1)
	go func() {
		_, err := WaitReadyOrFail(ctx, noDaemon(t), time.Hour, func() error {
			select {
			case asked <- struct{}{}:
			default:
			}
			return nil
		})
		result <- err
	}()
	<-asked
	cancel()
	select {
	case err := <-result:
		if err == nil {
			t.Fatal("WaitReady after a cancel returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitReady still waiting 10s after a cancel (timeout 1h)")
	}
}

func TestWaitAnswersOrFailPingsWithoutAskingInfo(t *testing.T) {
	var pings, infos atomic.Int32
	api, _ := daemontest.APIOnSocket(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			pings.Add(1)
			w.Header().Set("Api-Version", "1.41")
			_, _ = w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/info"):
			infos.Add(1)
			_, _ = w.Write([]byte("{}"))
		default:
			http.NotFound(w, r)
		}
	}))
	if err := WaitAnswersOrFail(t.Context(), api, 10*time.Second, nil); err != nil {
		t.Fatalf("a daemon that answers pings: want no error, got %v", err)
	}
	if pings.Load() == 0 || infos.Load() != 0 {
		t.Fatalf("want pings and no Info (each makes dockerd fork runc and docker-init), got %d pings, %d infos", pings.Load(), infos.Load())
	}
}

func TestWaitAnswersOrFailStopsOnTheDaemonsReason(t *testing.T) {
	// Nothing listens: every ping fails, and failed says why to stop.
	api := daemontest.APIAt(t, filepath.Join(t.TempDir(), "docker.sock"))
	cannotStart := errors.New("daemon cannot start: its log says: no")
	calls := 0
	failed := func() error {
		if calls++; calls == 3 {
			return cannotStart
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := WaitAnswersOrFail(ctx, api, 20*time.Second, failed); !errors.Is(err, cannotStart) {
		t.Fatalf("want the daemon's own reason, got %v", err)
	}
	if calls != 3 {
		t.Fatalf("want the wait to end at the third failed ping, it asked failed %d times", calls)
	}
}

func TestWaitAnswersOrFailTimesOut(t *testing.T) {
	api := daemontest.APIAt(t, filepath.Join(t.TempDir(), "docker.sock"))
	err := WaitAnswersOrFail(t.Context(), api, 100*time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 100ms") {
		t.Fatalf("want a timeout naming its bound, got %v", err)
	}
}
