package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// noDaemon is the real API client at a socket no daemon listens on.
func noDaemon(t *testing.T) client.APIClient {
	t.Helper()
	api, err := client.New(client.WithHost("unix://"+filepath.Join(t.TempDir(), "docker.sock")), client.WithAPIVersion("1.44"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
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
