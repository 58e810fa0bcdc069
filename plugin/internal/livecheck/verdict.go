package livecheck

import (
	"fmt"
	"slices"
	"strings"
)

// Verdict is a whole run's result, as `docker userns test` words it.
type Verdict string

const (
	// Pass: every check passed and nothing was left behind.
	Pass Verdict = "PASS"
	// Fail: a check failed, or something could not be removed.
	Fail Verdict = "FAIL"
	// Incomplete: none failed, but some needed the host's files and
	// could not run; not a pass.
	Incomplete Verdict = "INCOMPLETE"
)

// Verdict is the run's result.
func (r Report) Verdict() Verdict {
	switch {
	case len(r.Failed) > 0 || len(r.Leftovers) > 0:
		return Fail
	case len(r.Incomplete) > 0:
		return Incomplete
	}
	return Pass
}

// Passed counts the checks that passed.
func (r Report) Passed() int {
	return len(r.Checks) - len(r.Failed) - len(r.Incomplete)
}

// Failures names what makes the run a failure: the failed checks and, when
// something was left behind, how many.
func (r Report) Failures() []string {
	if len(r.Leftovers) == 0 {
		return r.Failed
	}
	return slices.Concat(r.Failed, []string{fmt.Sprintf("%d left behind", len(r.Leftovers))})
}

// Summary is the verdict's detail in one line: how many checks passed on
// which daemon, and what failed or could not run.
func (r Report) Summary() string {
	passed := fmt.Sprintf("%d of %d checks passed on Docker %s", r.Passed(), len(r.Checks), r.Daemon)
	switch r.Verdict() {
	case Fail:
		return fmt.Sprintf("%s; %s", passed, strings.Join(r.Failures(), ", "))
	case Incomplete:
		return fmt.Sprintf("%s; %d need the host's files: %s", passed, len(r.Incomplete), r.HostFilesError)
	}
	return passed
}
