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
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as a JUnit XML testsuite named SuiteName,
// one testcase per check; a failed check's failure message holds what was
// expected and what was observed.
func (r Report) WriteJUnit(w io.Writer) error {
	run := junitRun{
		Name:      SuiteName,
		Tests:     len(r.Checks),
		Failures:  len(r.Failed),
		Time:      seconds(r.Seconds),
		Timestamp: r.Started.UTC().Format(time.RFC3339),
	}
	if r.Daemon != "" {
		run.Properties = append(run.Properties, junitProperty{Name: "daemon.version", Value: r.Daemon})
	}
	if r.Expectation != nil {
		run.Properties = append(run.Properties, junitProperty{Name: "userns-remap", Value: r.Expectation.describe()})
	}
	for _, c := range r.Checks {
		text := fmt.Sprintf("expected: %s\nobserved: %s", c.Expected, c.Observed)
		jc := junitCase{Name: c.Name, Classname: SuiteName, Time: seconds(c.Seconds)}
		if c.OK {
			jc.SystemOut = text
		} else {
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
		run.Cases = append(run.Cases, junitCase{Name: "nothing left behind", Classname: SuiteName, Time: seconds(0),
			Failure: &junitFailure{Message: text, Type: "FAIL", Text: text}})
		run.Tests++
		run.Failures++
	}
	doc := junitSuites{Name: SuiteName, Tests: run.Tests, Failures: run.Failures, Time: run.Time, Suites: []junitRun{run}}
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
