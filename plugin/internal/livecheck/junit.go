package livecheck

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/internal/junit"
)

// SuiteName is the JUnit testsuite (and classname) of the report.
const SuiteName = "docker userns test"

// WriteJUnit writes the report as a JUnit XML testsuite named SuiteName,
// one testcase per check; a failed check's failure message holds what was
// expected and what was observed, a check that needed the host's files
// (which could not be reached) is skipped with that reason.
func (r Report) WriteJUnit(w io.Writer) error {
	return writeJUnit(w, []junit.Suite{r.junitSuite(SuiteName)}, []float64{r.Seconds})
}

// HostReport is one host's report in a fleet, or why it has none.
type HostReport struct {
	Host   string
	Report *Report
	Err    error
}

// WriteJUnitHosts writes one testsuite per host of a fleet, named
// SuiteName (host); a host that could not be tested at all has one
// testcase in error saying why.
func WriteJUnitHosts(w io.Writer, hosts []HostReport) error {
	suites := make([]junit.Suite, len(hosts))
	secs := make([]float64, len(hosts))
	for i, h := range hosts {
		name := fmt.Sprintf("%s (%s)", SuiteName, h.Host)
		if h.Report != nil {
			suites[i], secs[i] = h.Report.junitSuite(name), h.Report.Seconds
			continue
		}
		why := "not tested"
		if h.Err != nil {
			why = h.Err.Error()
		}
		suites[i] = junit.Suite{Name: name, Tests: 1, Errors: 1, Time: junit.Seconds(0),
			Cases: []junit.Case{{Name: "run", Classname: name, Time: junit.Seconds(0), Error: &junit.Failure{Message: why, Type: "ERROR", Text: why}}}}
	}
	return writeJUnit(w, suites, secs)
}

func (r Report) junitSuite(name string) junit.Suite {
	suite := junit.Suite{
		Name:      name,
		Tests:     len(r.Checks),
		Failures:  len(r.Failed),
		Skipped:   len(r.Incomplete),
		Time:      junit.Seconds(r.Seconds),
		Timestamp: r.Started.UTC().Format(time.RFC3339),
	}
	if r.Daemon != "" {
		suite.Properties = append(suite.Properties, junit.Property{Name: "daemon.version", Value: r.Daemon})
	}
	if r.Expectation != nil {
		suite.Properties = append(suite.Properties, junit.Property{Name: "userns-remap", Value: r.Expectation.describe()})
	}
	if r.HostFilesError != "" {
		suite.Properties = append(suite.Properties, junit.Property{Name: "incomplete", Value: "needs the host's files: " + r.HostFilesError})
	}
	for _, c := range r.Checks {
		text := fmt.Sprintf("expected: %s\nobserved: %s", c.Expected, c.Observed)
		jc := junit.Case{Name: c.Name, Classname: name, Time: junit.Seconds(c.Seconds)}
		switch {
		case c.Skipped:
			jc.Skipped = &junit.Skipped{Message: c.Observed}
		case c.OK:
			jc.SystemOut = text
		default:
			jc.Failure = &junit.Failure{
				Message: fmt.Sprintf("expected %s; observed %s", c.Expected, c.Observed),
				Type:    "FAIL",
				Text:    text,
			}
		}
		suite.Cases = append(suite.Cases, jc)
	}
	if len(r.Leftovers) > 0 {
		// Not a check, but a broken promise CI should see as a failure.
		text := "left behind: " + strings.Join(r.Leftovers, "; ")
		suite.Cases = append(suite.Cases, junit.Case{Name: "nothing left behind", Classname: name, Time: junit.Seconds(0),
			Failure: &junit.Failure{Message: text, Type: "FAIL", Text: text}})
		suite.Tests++
		suite.Failures++
	}
	return suite
}

// writeJUnit writes the suites, each of which took secs[i]: the hosts of a
// fleet run at once, so the whole took the longest.
func writeJUnit(w io.Writer, suites []junit.Suite, secs []float64) error {
	doc := junit.Suites{Name: SuiteName, Suites: suites}
	longest := 0.0
	for i, s := range suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		longest = max(longest, secs[i])
	}
	doc.Time = junit.Seconds(longest)
	return junit.Write(w, doc)
}
