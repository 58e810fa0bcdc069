package livecheck

import "testing"

// TestVerdict: a failed check or a leftover fails the run; checks that
// could not run leave it incomplete, not passed; the summary counts and
// names them.
func TestVerdict(t *testing.T) {
	checks := []Check{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	for _, tc := range []struct {
		r       Report
		verdict Verdict
		summary string
	}{
		{Report{Daemon: "28.5.2", Checks: checks}, Pass, "3 of 3 checks passed on Docker 28.5.2"},
		{Report{Daemon: "28.5.2", Checks: checks, Failed: []string{"b"}, Leftovers: []string{"dir /tmp/x"}}, Fail, "2 of 3 checks passed on Docker 28.5.2; b, 1 left behind"},
		{Report{Daemon: "20.10.24", Checks: checks, Leftovers: []string{"image x"}}, Fail, "3 of 3 checks passed on Docker 20.10.24; 1 left behind"},
		{Report{Daemon: "26.1.5", Checks: checks, Incomplete: []string{"a", "c"}, HostFilesError: "no helper"}, Incomplete, "1 of 3 checks passed on Docker 26.1.5; 2 need the host's files: no helper"},
	} {
		if v, s := tc.r.Verdict(), tc.r.Summary(); v != tc.verdict || s != tc.summary {
			t.Errorf("%+v: %s %q, want %s %q", tc.r, v, s, tc.verdict, tc.summary)
		}
	}
}
