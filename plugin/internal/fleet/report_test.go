package fleet

import (
	"strings"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		want    string
		failed  int
		skipped int
	}{
		{
			name: "all fine",
			results: []Result{
				{Host: "a", Result: "enabled"},
				{Host: "b", Result: "reverted"},
				{Host: "c", Result: "enabled"},
			},
			want: "3 hosts: 2 enabled, 1 reverted",
		},
		{
			name: "with failures",
			results: []Result{
				{Host: "a", Result: "enabled"},
				{Host: "b", Result: "reverted", Failed: true},
				{Host: "c", Result: "skipped"},
			},
			want:    "3 hosts: 1 enabled, 1 reverted (failed), 1 skipped",
			failed:  1,
			skipped: 1,
		},
		{
			name: "failed with no word of its own",
			results: []Result{
				{Host: "a", Result: "failed", Failed: true},
				{Host: "b", Result: "failed", Failed: true},
			},
			want:   "2 hosts: 2 failed",
			failed: 2,
		},
		{
			name:    "one host",
			results: []Result{{Host: "a", Result: "already enabled"}},
			want:    "1 host: 1 already enabled",
		},
		{name: "none", want: "0 hosts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summary(tc.results); got != tc.want {
				t.Errorf("Summary = %q, want %q", got, tc.want)
			}
			if got := Failed(tc.results); got != tc.failed {
				t.Errorf("Failed = %d, want %d", got, tc.failed)
			}
			if got := Skipped(tc.results); got != tc.skipped {
				t.Errorf("Skipped = %d, want %d", got, tc.skipped)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	results := []Result{
		{Host: "ci-1", Result: "enabled", Duration: 12340 * time.Millisecond, Seconds: 12.3, Message: "remapped to agent", Canary: true},
		{Host: "ci-22", Result: "reverted", Seconds: 40, Message: "verify: daemon\nnot running", Failed: true},
		{Host: "ci-3", Result: "skipped", Message: "not started: the rollout stopped after 1 failed host(s)"},
	}
	var b strings.Builder
	if err := WriteTable(&b, results); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"HOST            RESULT     TIME    MESSAGE\n" +
		"ci-1 (canary)   enabled    12.3s   remapped to agent\n" +
		"ci-22           reverted   40.0s   verify: daemon not running\n" +
		"ci-3            skipped    -       not started: the rollout stopped after 1 failed host(s)\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
