package remap

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// socketActivated is a daemon behind systemd's docker.socket: across a
// restart every request waits and then succeeds, none fails, so an outage
// is never seen. Its event stream ends when the old dockerd stops (stop).
type socketActivated struct {
	fakeDaemon
	stop chan struct{}
}

func (socketActivated) Ping(context.Context, client.PingOptions) (client.PingResult, error) {
	return client.PingResult{}, nil
}

func (s socketActivated) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	errs := make(chan error, 1)
	go func() {
		select {
		case <-s.stop:
			errs <- errors.New("unexpected EOF")
		case <-ctx.Done():
			errs <- ctx.Err()
		}
	}()
	return client.EventsResult{Messages: make(chan events.Message), Err: errs}
}

// goUntilCleanup runs f in a goroutine the test waits for before it
// ends: an error f reports never comes after the test.
func goUntilCleanup(t *testing.T, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	t.Cleanup(func() { <-done })
}

// setPhase moves the armed record to phase as the host agent would
// (written aside and renamed: a reader never sees half a record).
func setPhase(t *testing.T, root hostfs.Root, token string, phase hostagent.Phase) {
	t.Helper()
	rec, err := hostagent.Lookup(root, token)
	if err != nil {
		t.Error(err)
		return
	}
	rec.Phase = phase
	data, _ := json.Marshal(rec)
	path := root.Path(hostagent.RecordPath)
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		t.Error(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Error(err)
	}
}

func armedRoot(t *testing.T) (hostfs.Root, string) {
	t.Helper()
	root, err := hostfs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := &hostagent.Record{Token: "t1", Action: "enable", Timeout: time.Second, ConfirmTimeout: time.Minute}
	if err := hostagent.Arm(root, rec); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(root.Path(hostagent.RecordPath)), 0o700); err != nil {
		t.Fatal(err)
	}
	return root, rec.Token
}

// TestAwaitRestartUnderSocketActivationLocal: on the host itself the client
// follows the agent's phase. Waiting for an outage instead (as before) never
// ended here: the agent's confirm deadline passed and it reverted.
func TestAwaitRestartUnderSocketActivationLocal(t *testing.T) {
	root, token := armedRoot(t)
	dir, name := filepath.Split(root.Path(hostagent.RecordPath))
	record := hostfstest.Watch(t, dir, unix.IN_OPEN|unix.IN_MOVED_TO)
	// The agent moves on once the client has read its record in each
	// phase: armed, then restarting.
	goUntilCleanup(t, func() {
		for _, next := range []hostagent.Phase{hostagent.Restarting, hostagent.Waiting} {
			if !hostfstest.Await(record, name, unix.IN_OPEN, 15*time.Second) {
				t.Errorf("the client did not read the agent's record before it moved to %s", next)
				return
			}
			setPhase(t, root, token, next)
			// Past the record's rename, a read is of the next phase.
			hostfstest.Await(record, name, unix.IN_MOVED_TO, 15*time.Second)
		}
	})
	c := ClientEnv{API: socketActivated{fakeDaemon: fakeDaemon{info: system.Info{}}}, Timeout: 2 * time.Second, Control: LocalControl{Root: root}}
	// Far less than waiting for an outage would take (Timeout plus the
	// restart allowance, 32 s), and far more than the 0.45 s the agent
	// takes here even on a loaded machine: no clock to flake on.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rec, err := c.awaitRestart(ctx, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Phase != hostagent.Waiting {
		t.Errorf("phase %s, want %s", rec.Phase, hostagent.Waiting)
	}
}

// recordingControl is the agent reached through helper containers: it
// counts the helpers that read the record, and notes whether one ran while
// the old daemon still ran (it would be stranded by the restart).
type recordingControl struct {
	LocalControl
	oldDaemonGone <-chan struct{}
	mu            sync.Mutex
	early, reads  int
	// confirmErr, when set, is what Confirm returns, confirming nothing:
	// the helper that confirms failed.
	confirmErr error
}

func (r *recordingControl) Confirm(ctx context.Context, token string) (*hostagent.Record, error) {
	if r.confirmErr != nil {
		return nil, r.confirmErr
	}
	return r.LocalControl.Confirm(ctx, token)
}

func (r *recordingControl) note() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	select {
	case <-r.oldDaemonGone:
	default:
		r.early++
	}
}

func (r *recordingControl) Status(ctx context.Context, token string) (*hostagent.Record, error) {
	r.note()
	return r.LocalControl.Status(ctx, token)
}

func (r *recordingControl) Collect(ctx context.Context, token string) (*hostagent.Record, error) {
	r.note()
	return r.LocalControl.Collect(ctx, token)
}

// throughDaemon is a client of an armed host reached through the daemon:
// helper containers (control), and the old daemon's end seen on its event
// stream, which closing stop ends.
func throughDaemon(t *testing.T) (hostfs.Root, string, chan struct{}, *recordingControl, ClientEnv) {
	t.Helper()
	root, token := armedRoot(t)
	stop := make(chan struct{})
	api := socketActivated{fakeDaemon: fakeDaemon{info: system.Info{}}, stop: stop}
	control := &recordingControl{LocalControl: LocalControl{Root: root}, oldDaemonGone: stop}
	c := ClientEnv{API: api, Timeout: 2 * time.Second, Control: control, Restart: daemon.WatchRestart(context.Background(), api)}
	return root, token, stop, control, c
}

// TestAwaitRestartUnderSocketActivationThroughDaemon: through the daemon
// the old daemon's end (its event stream) is the restart, and no helper
// runs before it.
func TestAwaitRestartUnderSocketActivationThroughDaemon(t *testing.T) {
	root, token, stop, control, c := throughDaemon(t)
	goUntilCleanup(t, func() {
		time.Sleep(150 * time.Millisecond)
		setPhase(t, root, token, hostagent.Restarting)
		time.Sleep(100 * time.Millisecond)
		close(stop) // the old dockerd stops; the new one answers at once
		setPhase(t, root, token, hostagent.Waiting)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The verification may start once the old daemon is gone, not before.
	readyCalls, readyEarly := 0, false
	rec, err := c.awaitRestart(ctx, token, func() {
		readyCalls++
		select {
		case <-stop:
		default:
			readyEarly = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Phase != hostagent.Waiting {
		t.Errorf("phase %s, want %s", rec.Phase, hostagent.Waiting)
	}
	// ready is called only when the restart was seen (not after the
	// allowance ran out): once is proof enough, with no clock to flake.
	if readyCalls != 1 || readyEarly {
		t.Errorf("ready called %d times (want 1), before the old daemon stopped: %v", readyCalls, readyEarly)
	}
	if control.early > 0 {
		t.Errorf("%d helper(s) ran before the old daemon stopped", control.early)
	}
}

// TestAwaitRestartCollectsARevert: through the daemon, when the new daemon
// could not start and the agent has already reverted by the time the old
// config's daemon answers, the one helper that reads the phase also
// collects the finished record; Finish needs no second helper (awaitRevert)
// to report the revert.
func TestAwaitRestartCollectsARevert(t *testing.T) {
	root, token, stop, control, c := throughDaemon(t)
	goUntilCleanup(t, func() {
		time.Sleep(100 * time.Millisecond)
		setPhase(t, root, token, hostagent.Restarting)
		setPhase(t, root, token, hostagent.Reverted)
		close(stop)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec, err := c.awaitRestart(ctx, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Finished() {
		t.Errorf("phase %s, want %s", rec.Phase, hostagent.Reverted)
	}
	if _, err := hostagent.Lookup(root, token); !errors.Is(err, hostagent.ErrNoRecord) {
		t.Errorf("the finished record is still on the host: %v", err)
	}
	if control.reads != 1 || control.early != 0 {
		t.Errorf("%d helper(s) read the record (%d before the old daemon stopped), want 1", control.reads, control.early)
	}
}

// TestAConfirmationTooLateReportsTheRevert: over a slow link the agent's
// confirm window passed while the client verified; the agent reverted, and
// the helper that confirms failed with the daemon gone. The client reports
// the revert it collects, not the helper's connection error; a
// confirmation whose answer was lost (the record is gone) keeps its error.
func TestAConfirmationTooLateReportsTheRevert(t *testing.T) {
	root, token, stop, control, c := throughDaemon(t)
	close(stop)
	control.confirmErr = errors.New("helper: attach to probe container: dial unix /var/run/docker.sock: connect: no such file or directory")
	setPhase(t, root, token, hostagent.Reverted)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kept, reverted, err := c.confirm(ctx, token)
	if kept || err != nil || reverted == nil || !reverted.Finished() {
		t.Fatalf("confirm: kept %v, reverted %+v, err %v; want the collected revert", kept, reverted, err)
	}
	if _, err := hostagent.Lookup(root, token); !errors.Is(err, hostagent.ErrNoRecord) {
		t.Errorf("the finished record is still on the host: %v", err)
	}

	kept, reverted, err = c.confirm(ctx, token) // the record is gone now
	if kept || reverted != nil || err != control.confirmErr {
		t.Errorf("confirm without a record: kept %v, reverted %+v, err %v; want the helper's error", kept, reverted, err)
	}
}
