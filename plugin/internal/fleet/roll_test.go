package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// tracker is a run function that records, for each host, how many hosts had
// finished when it started, and the most hosts it saw running at once. Each
// host waits until its whole batch has started (none can end before that), so
// a batch that is not run concurrently fails instead of passing by luck.
type tracker struct {
	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every start and end
	active    int
	maxActive int
	done      int
	doneAt    map[string]int // host -> hosts finished when it started
	arrived   map[int]int    // hosts finished at start -> hosts that started then

	batchSize map[string]int // host -> hosts expected to run beside it, itself included
	outcomes  map[string]Outcome
	errs      map[string]string
	onStart   func(host string) // optional
}

func newTracker(starts []int, hosts []string, outcomes map[string]Outcome, errs map[string]string) *tracker {
	t := &tracker{
		changed:   make(chan struct{}),
		doneAt:    map[string]int{},
		arrived:   map[int]int{},
		batchSize: map[string]int{},
		outcomes:  outcomes,
		errs:      errs,
	}
	for i, host := range hosts {
		for _, s := range starts {
			if s >= 0 && s == starts[i] {
				t.batchSize[host]++
			}
		}
	}
	return t
}

func (t *tracker) update(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f()
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *tracker) run(ctx context.Context, host string) (Outcome, error) {
	t.update(func() {
		t.active++
		t.maxActive = max(t.maxActive, t.active)
		t.doneAt[host] = t.done
		t.arrived[t.done]++
	})
	defer t.update(func() { t.active--; t.done++ })
	if t.onStart != nil {
		t.onStart(host)
	}

	deadline := time.After(10 * time.Second)
	for {
		t.mu.Lock()
		arrived, changed := t.arrived[t.doneAt[host]], t.changed
		t.mu.Unlock()
		if arrived >= t.batchSize[host] {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			return Outcome{}, fmt.Errorf("wait for batch of %s: %d of %d hosts started", host, arrived, t.batchSize[host])
		}
	}

	out, ok := t.outcomes[host]
	if !ok {
		out = Outcome{Result: "enabled", Message: "remapped to agent"}
	}
	if msg, ok := t.errs[host]; ok {
		return out, errors.New(msg)
	}
	return out, nil
}

// line is a Result without its timing, for comparing.
type line struct {
	Host, Result, Message string
	Failed, Canary        bool
}

func lines(results []Result) []line {
	var out []line
	for _, r := range results {
		out = append(out, line{r.Host, r.Result, r.Message, r.Failed, r.Canary})
	}
	return out
}

func TestRoll(t *testing.T) {
	const (
		ok   = "remapped to agent"
		stop = "not started: the rollout stopped after %d failed host(s)"
	)
	reverted := Outcome{Result: "reverted", Message: "daemon did not come back; old config restored"}
	tests := []struct {
		name     string
		hosts    []string
		opts     Options
		outcomes map[string]Outcome
		errs     map[string]string
		starts   []int // per host: hosts finished when it started (its batch's first index); -1 not started
		want     []line
	}{
		{
			name:   "canary success then batches",
			hosts:  []string{"a", "b", "c", "d", "e", "f", "g"},
			opts:   Options{Canary: 2, Parallel: 3},
			starts: []int{0, 1, 2, 2, 2, 5, 5},
			want: []line{
				{"a", "enabled", ok, false, true},
				{"b", "enabled", ok, false, true},
				{"c", "enabled", ok, false, false},
				{"d", "enabled", ok, false, false},
				{"e", "enabled", ok, false, false},
				{"f", "enabled", ok, false, false},
				{"g", "enabled", ok, false, false},
			},
		},
		{
			name:     "canary failure stops the rollout",
			hosts:    []string{"a", "b", "c", "d"},
			opts:     Options{Parallel: 2, MaxFailures: 1},
			outcomes: map[string]Outcome{"a": reverted},
			errs:     map[string]string{"a": "verify: daemon not running"},
			starts:   []int{0, -1, -1, -1},
			want: []line{
				{"a", "reverted", reverted.Message, true, true},
				{"b", "skipped", fmt.Sprintf(stop, 1), false, false},
				{"c", "skipped", fmt.Sprintf(stop, 1), false, false},
				{"d", "skipped", fmt.Sprintf(stop, 1), false, false},
			},
		},
		{
			name:   "two failures in one batch reach MaxFailures=2",
			hosts:  []string{"a", "b", "c", "d", "e"},
			opts:   Options{Canary: 1, Parallel: 2, MaxFailures: 2},
			errs:   map[string]string{"b": "restart dockerd: timeout", "c": "write daemon.json: read-only file system"},
			starts: []int{0, 1, 1, -1, -1},
			want: []line{
				{"a", "enabled", ok, false, true},
				{"b", "enabled", ok, true, false},
				{"c", "enabled", ok, true, false},
				{"d", "skipped", fmt.Sprintf(stop, 2), false, false},
				{"e", "skipped", fmt.Sprintf(stop, 2), false, false},
			},
		},
		{
			name:     "failures in separate batches add up, a running batch finishes",
			hosts:    []string{"a", "b", "c", "d", "e", "f", "g"},
			opts:     Options{Parallel: 2, MaxFailures: 2},
			outcomes: map[string]Outcome{"b": {}, "e": {}},
			errs:     map[string]string{"b": "restart dockerd: timeout", "e": "restart dockerd: timeout"},
			starts:   []int{0, 1, 1, 3, 3, -1, -1},
			want: []line{
				{"a", "enabled", ok, false, true},
				{"b", "failed", "restart dockerd: timeout", true, false},
				{"c", "enabled", ok, false, false},
				{"d", "enabled", ok, false, false},
				{"e", "failed", "restart dockerd: timeout", true, false},
				{"f", "skipped", fmt.Sprintf(stop, 2), false, false},
				{"g", "skipped", fmt.Sprintf(stop, 2), false, false},
			},
		},
		{
			name:   "a batch started before MaxFailures=1 is reached runs to its end",
			hosts:  []string{"a", "b", "c", "d", "e"},
			opts:   Options{Parallel: 3, MaxFailures: 1},
			errs:   map[string]string{"b": "verify: boom"},
			starts: []int{0, 1, 1, 1, -1},
			want: []line{
				{"a", "enabled", ok, false, true},
				{"b", "enabled", ok, true, false},
				{"c", "enabled", ok, false, false},
				{"d", "enabled", ok, false, false},
				{"e", "skipped", fmt.Sprintf(stop, 1), false, false},
			},
		},
		{
			name:     "MaxFailures=0 runs every host",
			hosts:    []string{"a", "b", "c", "d", "e"},
			opts:     Options{Parallel: 2},
			outcomes: map[string]Outcome{"a": reverted, "c": reverted, "e": reverted},
			errs:     map[string]string{"a": "x", "c": "x", "e": "x"},
			starts:   []int{0, 1, 1, 3, 3},
			want: []line{
				{"a", "reverted", reverted.Message, true, true},
				{"b", "enabled", ok, false, false},
				{"c", "reverted", reverted.Message, true, false},
				{"d", "enabled", ok, false, false},
				{"e", "reverted", reverted.Message, true, false},
			},
		},
		{
			name:   "Parallel larger than hosts runs the rest at once",
			hosts:  []string{"c", "a", "b"},
			opts:   Options{Parallel: 10},
			starts: []int{0, 1, 1},
			want: []line{
				{"c", "enabled", ok, false, true},
				{"a", "enabled", ok, false, false},
				{"b", "enabled", ok, false, false},
			},
		},
		{
			name:   "Canary larger than hosts runs all one by one",
			hosts:  []string{"b", "a"},
			opts:   Options{Canary: 5, Parallel: 4},
			starts: []int{0, 1},
			want: []line{
				{"b", "enabled", ok, false, true},
				{"a", "enabled", ok, false, true},
			},
		},
		{
			name:     "zero options: one canary, then one by one; empty outcome reads done",
			hosts:    []string{"a", "b", "c"},
			outcomes: map[string]Outcome{"b": {}},
			starts:   []int{0, 1, 2},
			want: []line{
				{"a", "enabled", ok, false, true},
				{"b", "done", "", false, false},
				{"c", "enabled", ok, false, false},
			},
		},
		{
			name:   "NoCanary: every host at once, none marked canary",
			hosts:  []string{"a", "b", "c"},
			opts:   Options{NoCanary: true, Canary: 2, Parallel: 3},
			starts: []int{0, 0, 0},
			want: []line{
				{"a", "enabled", ok, false, false},
				{"b", "enabled", ok, false, false},
				{"c", "enabled", ok, false, false},
			},
		},
		{
			name:  "no hosts",
			hosts: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.starts, tc.hosts, tc.outcomes, tc.errs)
			got := Roll(context.Background(), tc.hosts, tc.opts, tr.run)

			if !slices.Equal(lines(got), tc.want) {
				t.Errorf("results:\n got %v\nwant %v", lines(got), tc.want)
			}
			wantMax := 0
			for i, host := range tc.hosts {
				at, ran := tr.doneAt[host]
				if tc.starts[i] < 0 {
					if ran {
						t.Errorf("%s ran, want not started", host)
					}
					continue
				}
				if !ran || at != tc.starts[i] {
					t.Errorf("%s started after %d hosts finished (ran=%v), want %d", host, at, ran, tc.starts[i])
				}
				wantMax = max(wantMax, tr.batchSize[host])
			}
			if tr.maxActive != wantMax {
				t.Errorf("at most %d hosts ran at once, want %d", tr.maxActive, wantMax)
			}
			for _, r := range got {
				if r.Seconds < 0 || r.Seconds != float64(int64(r.Seconds*10+0.5))/10 {
					t.Errorf("%s: seconds %v not rounded to 0.1", r.Host, r.Seconds)
				}
			}
		})
	}
}

func TestRollCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hosts := []string{"a", "b", "c"}
	tr := newTracker([]int{0, -1, -1}, hosts, nil, nil)
	tr.onStart = func(string) { cancel() } // the operator presses ^C during the canary

	got := Roll(ctx, hosts, Options{Parallel: 2}, tr.run)

	want := []line{
		{"a", "enabled", "remapped to agent", false, true},
		{"b", "skipped", "context canceled", false, false},
		{"c", "skipped", "context canceled", false, false},
	}
	if !slices.Equal(lines(got), want) {
		t.Errorf("results:\n got %v\nwant %v", lines(got), want)
	}
	if len(tr.doneAt) != 1 {
		t.Errorf("%d hosts ran, want only the canary", len(tr.doneAt))
	}
}

func TestRollCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted"))
	ran := 0
	got := Roll(ctx, []string{"a", "b"}, Options{}, func(context.Context, string) (Outcome, error) {
		ran++
		return Outcome{}, nil
	})
	want := []line{
		{"a", "skipped", "interrupted", false, true},
		{"b", "skipped", "interrupted", false, false},
	}
	if ran != 0 || !slices.Equal(lines(got), want) {
		t.Errorf("ran %d hosts, results %v; want none run, %v", ran, lines(got), want)
	}
}

func TestCheckHosts(t *testing.T) {
	tests := []struct {
		hosts []string
		want  string
	}{
		{[]string{"a", "b"}, ""},
		{[]string{"a", "b", "a"}, `context "a" given twice`},
		{nil, "no context given"},
	}
	for _, tc := range tests {
		err := CheckHosts(tc.hosts)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckHosts(%q) = %q, want %q", tc.hosts, got, tc.want)
		}
	}
}
