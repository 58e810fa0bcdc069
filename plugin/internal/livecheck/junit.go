package livecheck

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// SuiteName is the JUnit testsuite (and classname) of the report.
const SuiteName = "docker userns test"

// JUnit XML as CI systems read it (the Jenkins/surefire schema).
type junitSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Time     string     `xml:"time,attr"`
	Suites   []junitRun `xml:"testsuite"`
}

type junitRun struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	secs       float64
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as a JUnit XML testsuite named SuiteName,
// one testcase per check; a failed check's failure message holds what was
// expected and what was observed, a check that needed the host's files
// (which could not be reached) is skipped with that reason.
func (r Report) WriteJUnit(w io.Writer) error {
	return writeJUnit(w, []junitRun{r.junitRun(SuiteName)})
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
	runs := make([]junitRun, len(hosts))
	for i, h := range hosts {
		name := fmt.Sprintf("%s (%s)", SuiteName, h.Host)
		if h.Report != nil {
			runs[i] = h.Report.junitRun(name)
			continue
		}
		why := "not tested"
		if h.Err != nil {
			why = h.Err.Error()
		}
		runs[i] = junitRun{Name: name, Tests: 1, Errors: 1, Time: seconds(0),
			Cases: []junitCase{{Name: "run", Classname: name, Time: seconds(0), Error: &junitFailure{Message: why, Type: "ERROR", Text: why}}}}
	}
	return writeJUnit(w, runs)
}

func (r Report) junitRun(name string) junitRun {
	run := junitRun{
		Name:      name,
		Tests:     len(r.Checks),
		Failures:  len(r.Failed),
		Skipped:   len(r.Incomplete),
		Time:      seconds(r.Seconds),
		Timestamp: r.Started.UTC().Format(time.RFC3339),
		secs:      r.Seconds,
	}
	if r.Daemon != "" {
		run.Properties = append(run.Properties, junitProperty{Name: "daemon.version", Value: r.Daemon})
	}
	if r.Expectation != nil {
		run.Properties = append(run.Properties, junitProperty{Name: "userns-remap", Value: r.Expectation.describe()})
	}
	if r.HostFilesError != "" {
		run.Properties = append(run.Properties, junitProperty{Name: "incomplete", Value: "needs the host's files: " + r.HostFilesError})
	}
	for _, c := range r.Checks {
		text := fmt.Sprintf("expected: %s\nobserved: %s", c.Expected, c.Observed)
		jc := junitCase{Name: c.Name, Classname: name, Time: seconds(c.Seconds)}
		switch {
		case c.Skipped:
			jc.Skipped = &junitSkipped{Message: c.Observed}
		case c.OK:
			jc.SystemOut = text
		default:
			jc.Failure = &junitFailure{
				Message: fmt.Sprintf("expected %s; observed %s", c.Expected, c.Observed),
				Type:    "FAIL",
				Text:    text,
			}
		}
		run.Cases = append(run.Cases, jc)
	}
	if len(r.Leftovers) > 0 {
		// Not a check, but a broken promise CI should see as a failure.
		text := "left behind: " + strings.Join(r.Leftovers, "; ")
		run.Cases = append(run.Cases, junitCase{Name: "nothing left behind", Classname: name, Time: seconds(0),
			Failure: &junitFailure{Message: text, Type: "FAIL", Text: text}})
		run.Tests++
		run.Failures++
	}
	return run
}

func writeJUnit(w io.Writer, runs []junitRun) error {
	doc := junitSuites{Name: SuiteName, Suites: runs}
	longest := 0.0 // the hosts of a fleet run at once
	for _, run := range runs {
		doc.Tests += run.Tests
		doc.Failures += run.Failures
		longest = max(longest, run.secs)
	}
	doc.Time = seconds(longest)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
