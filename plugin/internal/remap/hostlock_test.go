package remap

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// TestConcurrentEnablesKeepBothRecords is issue 12 case 8: a second enable
// that starts while the first has written its files (and not yet its
// record) waits for the host-wide lock, so the state record keeps the
// ranges of both; without the lock the first one's record overwrote the
// second's ranges.
func TestConcurrentEnablesKeepBothRecords(t *testing.T) {
	ctx := context.Background()
	files := baseHost()
	files["/etc/passwd"] += "ci:x:998:998::/home/ci:/usr/sbin/nologin\n"
	files["/etc/group"] += "ci:x:998:\n"
	env := testEnv(t, hostfstest.Tree(t, files))

	var started atomic.Bool
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // the second run ends before the test, even a failed one
	var second error
	waiting := &saysWriter{text: "waiting for another docker userns run", said: make(chan struct{})}
	env.stepHooks = &stepHooks{afterWrite: func(hostfs.Root) {
		if !started.CompareAndSwap(false, true) {
			return // the second run's own writes
		}
		secondEnv := env
		secondEnv.Progress = waiting
		ended := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ended)
			_, second = Enable(ctx, secondEnv, EnableOptions{Spec: "ci", Force: true})
		}()
		// The second run reaches the lock and says it waits there; without
		// the lock it reads, writes and ends instead.
		select {
		case <-waiting.said:
		case <-ended:
		case <-time.After(time.Minute):
			t.Error("the second enable neither waited for the lock nor ended within a minute")
		}
	}}
	if _, err := Enable(ctx, env, EnableOptions{Spec: "agent"}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if second != nil {
		t.Fatalf("second enable: %v", second)
	}
	state, err := hostchange.LoadState(env.Root)
	if err != nil || state == nil {
		t.Fatalf("state: %v %v", state, err)
	}
	owners := map[string]bool{}
	for _, r := range state.AddedUID {
		owners[r.Owner] = true
	}
	if !owners["agent"] || !owners["ci"] {
		t.Errorf("the state record lost a run's ranges: added uid ranges %+v", state.AddedUID)
	}
	if env.Root.Exists(LockPath) {
		t.Errorf("%s is left behind", LockPath)
	}
}

// saysWriter is a Progress that closes said the first time a line holds text.
type saysWriter struct {
	text string
	said chan struct{}
	once sync.Once
}

func (w *saysWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.text) {
		w.once.Do(func() { close(w.said) })
	}
	return len(p), nil
}

// armDeadRecord leaves the record of an enable whose agent died mid-restart.
func armDeadRecord(t *testing.T, root hostfs.Root) []byte {
	t.Helper()
	rec := hostagent.Record{
		Token: "0123456789abcdef", Action: "enable", Phase: hostagent.Restarting,
		Files:    hostchange.Saved{{AppliedFile: hostchange.AppliedFile{Path: SubUIDPath}, Changed: true, Old: []byte("alice:100000:65536\n")}},
		AgentPID: 999999999, Armed: time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC),
	}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.WriteFile(hostagent.RecordPath, data, hostfs.WriteOptions{Perm: 0o600, MakeDirs: true}); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestChangesRefuseAnUnfinishedRecordOfADeadAgent is issue 12 case 8: the
// record of a dead agent holds the only copy of the old contents; enable
// and disable refuse it, change nothing, and drop it (keeping a copy) only
// with --discard-pending.
func TestChangesRefuseAnUnfinishedRecordOfADeadAgent(t *testing.T) {
	ctx := context.Background()
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	record := armDeadRecord(t, env.Root)
	before := hostfstest.Snapshot(t, dir)
	for name, run := range map[string]func() error{
		"enable":  func() error { _, err := Enable(ctx, env, EnableOptions{Spec: "agent"}); return err },
		"disable": func() error { _, err := Disable(ctx, env, DisableOptions{RemoveRanges: true}); return err },
	} {
		err := run()
		if err == nil || !strings.Contains(err.Error(), "--discard-pending") || !strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%s over a dead agent's record: want a refusal naming it and --discard-pending, got %v", name, err)
		}
		hostfstest.Unchanged(t, dir, before)
	}
	if _, err := Enable(ctx, env, EnableOptions{Spec: "agent", DiscardPending: true}); err != nil {
		t.Fatalf("enable --discard-pending: %v", err)
	}
	if env.Root.Exists(hostagent.RecordPath) {
		t.Errorf("the discarded record is still at %s", hostagent.RecordPath)
	}
	if kept, err := env.Root.ReadFile(hostagent.RecordPath + hostagent.DiscardedSuffix); err != nil || string(kept) != string(record) {
		t.Errorf("the discarded record is not kept beside it: %v", err)
	}
}

// TestDoctorShowsAnUnfinishedRecord: doctor FAILs on the record of a dead
// agent, naming the change and the files it holds.
func TestDoctorShowsAnUnfinishedRecord(t *testing.T) {
	env := testEnv(t, hostfstest.Tree(t, baseHost()))
	if f := findingOf(Doctor(context.Background(), env.Root, downDaemon{}, DoctorOptions{}), "pending change"); f.Verdict != "" {
		t.Fatalf("doctor reports a pending change on a clean host: %+v", f)
	}
	armDeadRecord(t, env.Root)
	f := findingOf(Doctor(context.Background(), env.Root, downDaemon{}, DoctorOptions{}), "pending change")
	if f.Verdict != Fail || !strings.Contains(f.Detail, "0123456789abcdef") || !strings.Contains(f.Detail, SubUIDPath) || !strings.Contains(f.Fix, "--discard-pending") {
		t.Errorf("doctor on a dead agent's record: %+v", f)
	}
}

// TestAFinishedRecordOfADeadClientIsCollected is issue 12 case 12: the
// agent reverted, its client died before collecting the record; the next
// command collects it and says why the change was reverted.
func TestAFinishedRecordOfADeadClientIsCollected(t *testing.T) {
	env := testEnv(t, hostfstest.Tree(t, baseHost()))
	rec := hostagent.Record{Token: "fedcba9876543210", Action: "enable", Phase: hostagent.Reverted, Reason: "verify: uid_map differs", DaemonBack: true}
	data, _ := json.Marshal(rec)
	if _, err := env.Root.WriteFile(hostagent.RecordPath, data, hostfs.WriteOptions{Perm: 0o600, MakeDirs: true}); err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	env.Progress = &progress
	if _, err := Disable(context.Background(), env, DisableOptions{}); err != nil {
		t.Fatal(err)
	}
	if env.Root.Exists(hostagent.RecordPath) {
		t.Error("the finished record was not collected")
	}
	if !strings.Contains(progress.String(), "verify: uid_map differs") {
		t.Errorf("the collection does not say why the change was reverted:\n%s", progress.String())
	}
}

// TestALockFileOfAKilledRunIsRemovedByTheNext: a client killed while it
// held the lock leaves the lock file (its flock goes with the process).
// The next run takes the lock and removes the file when done, although it
// did not create it: the host keeps nothing of ours once no run holds it.
func TestALockFileOfAKilledRunIsRemovedByTheNext(t *testing.T) {
	env := testEnv(t, hostfstest.Tree(t, baseHost()))
	if _, err := env.Root.WriteFile(LockPath, nil, hostfs.WriteOptions{Perm: 0o600, MakeDirs: true}); err != nil {
		t.Fatal(err)
	}
	l, err := lockHost(context.Background(), env, false)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if env.Root.Exists(LockPath) {
		t.Errorf("%s left behind after the run that took it over", LockPath)
	}
}
