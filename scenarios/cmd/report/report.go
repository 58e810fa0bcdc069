package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/scenarios"
)

// Statuses of a scenario run. A skip is reported as such but counts as a
// failure: a scenario that did not run proved nothing.
const (
	Pass       = "PASS"
	Fail       = "FAIL"
	Skip       = "SKIP"
	NotStopped = "DID NOT FINISH"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// Report is the outcome of a conformance run.
type Report struct {
	OK       bool     `json:"ok"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Seconds  float64  `json:"seconds"`
	Versions []string `json:"versions"`
	// Tier is the tier the test binary ran ("quick", "all"), "" when it
	// printed no plan.
	Tier string `json:"tier,omitempty"`
	// Plan is where the tier placed each scenario (scenarios/tiers_test.go).
	Plan []scenarios.PlanEntry `json:"plan,omitempty"`
	// CPUSeconds is what the DinD hosts' processes used, summed over the
	// runs that measured it (Measured of them).
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	Measured   int     `json:"cpu_measured_runs,omitempty"`
	// ProcessCPUSeconds is what the test process used outside the hosts,
	// itself and its children (go builds): scenarios.MarkProcessCPU.
	ProcessCPUSeconds [2]float64 `json:"process_cpu_seconds,omitzero"`
	Results           []Result   `json:"results"`
	// Errors are failures outside any scenario: a build error, a panic, a
	// timeout, a test that failed around its versions.
	Errors []string `json:"errors,omitempty"`
}

// Result is one scenario on one Docker version in one flavour.
type Result struct {
	Package  string `json:"package"`
	Test     string `json:"test"`
	Scenario string `json:"scenario"`
	Version  string `json:"version"`
	// Flavour is how the host runs dockerd: "supervised" or "systemd"
	// (the subtest "26.1-systemd" is Docker 26.1 under systemd).
	Flavour string  `json:"flavour"`
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds"`
	// CPUSeconds is what the host's processes used by the last step that
	// ended (0: not measured).
	CPUSeconds float64  `json:"cpu_seconds,omitempty"`
	Steps      []Step   `json:"steps"`
	Failure    *Failure `json:"failure,omitempty"`
	// Output is the test's log, for JUnit's system-out.
	Output []string `json:"-"`
	// rank is the order its top-level test started in: the source order.
	rank int
}

// splitHost reads a subtest name made by the scenarios: "26.1" is Docker
// 26.1 supervised, "26.1-systemd" the same version under systemd.
func splitHost(name string) (version, flavour string) {
	version, flavour, ok := strings.Cut(name, "-")
	if !ok {
		flavour = "supervised"
	}
	return version, flavour
}

// Host names the version and flavour for people: "26.1 systemd".
func (r Result) Host() string {
	if r.Flavour == "" {
		return r.Version
	}
	return r.Version + " " + r.Flavour
}

// Title is the scenario's short name: its intent up to the first colon.
func (r Result) Title() string {
	if name, _, ok := strings.Cut(r.Scenario, ":"); ok {
		return name
	}
	if r.Scenario != "" {
		return r.Scenario
	}
	return strings.SplitN(r.Test, "/", 2)[0]
}

// Counted tells whether the result counts as passed.
func (r Result) Counted() bool { return r.Status == Pass }

// Step is one step of behaviour and how long it took.
type Step struct {
	Name       string  `json:"name"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// Failure is where and why a scenario stopped.
type Failure struct {
	Step     string `json:"step"`
	Expected string `json:"expected,omitempty"`
	Seen     string `json:"seen,omitempty"`
	Where    string `json:"where,omitempty"`
}

// testState gathers one test's events.
type testState struct {
	result   Result
	started  time.Time
	ended    bool
	lastStep time.Time
	// inFailure and inSeen: continuation lines of a "step failed" message,
	// and of its "seen:", follow.
	inFailure, inSeen bool
	// tail keeps the last log lines, the failure when no marker says it.
	tail []string
}

// logLine is "    file.go:12: text" as the testing package decorates t.Log.
var logLine = regexp.MustCompile(`^\s{4}([\w.-]+\.go:\d+): (.*)$`)

// Parse reads `go test -json` output (other lines are kept as errors when
// the run fails) and builds the report. progress, if not nil, gets lines as
// the run goes: the plan, each scenario run as it starts and as it ends,
// with the time left.
func Parse(r io.Reader, progress io.Writer) (*Report, error) {
	tests := map[string]*testState{}
	var order []string
	var pkgOutput []string
	var plan []scenarios.PlanEntry
	var processCPU [2]float64
	pkgFailed := false
	var first, last time.Time
	prog := newProgress(progress)

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			pkgOutput = append(pkgOutput, string(line))
			continue
		}
		if !ev.Time.IsZero() {
			if first.IsZero() {
				first = ev.Time
			}
			last = ev.Time
		}
		if ev.Test == "" {
			switch ev.Action {
			case "fail", "build-fail":
				pkgFailed = true
			case "output", "build-output":
				text := strings.TrimRight(ev.Output, "\n")
				if e, ok := planEntry(text); ok {
					plan = append(plan, e)
					continue
				}
				if v, ok := strings.CutPrefix(text, scenarios.MarkProcessCPU); ok {
					fmt.Sscan(v, &processCPU[0], &processCPU[1])
					continue
				}
				pkgOutput = append(pkgOutput, text)
			}
			continue
		}
		prog.planned(plan)
		key := ev.Package + " " + ev.Test
		st := tests[key]
		if st == nil {
			st = &testState{result: Result{Package: ev.Package, Test: ev.Test}, started: ev.Time, lastStep: ev.Time}
			if i := strings.LastIndex(ev.Test, "/"); i >= 0 {
				st.result.Version, st.result.Flavour = splitHost(ev.Test[i+1:])
			}
			tests[key] = st
			order = append(order, key)
		}
		switch ev.Action {
		case "output":
			if st.output(ev) && st.result.Version != "" {
				prog.started(st.result, ev.Time)
			}
		case "pass", "fail", "skip":
			st.end(ev)
			if !hasChildren(tests, key) && !unplanned(plan, st.result) {
				prog.ended(st.result, ev.Time)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read go test -json: %w", err)
	}

	rep := &Report{Seconds: last.Sub(first).Seconds(), Plan: plan, ProcessCPUSeconds: processCPU}
	if len(plan) > 0 {
		rep.Tier = plan[0].Tier
	}
	rank := map[string]int{}
	for _, key := range order {
		top := topKey(tests[key].result)
		if _, ok := rank[top]; !ok {
			rank[top] = len(rank)
		}
	}
	versions := map[string]bool{}
	for _, key := range order {
		st := tests[key]
		if hasChildren(tests, key) {
			// A parent failing with every child passed failed on its own.
			if st.result.Status == Fail && !anyChildFailed(tests, key) {
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s failed outside its versions:\n%s", st.result.Test, strings.Join(st.tail, "\n")))
			}
			continue
		}
		if st.ended && unplanned(plan, st.result) {
			continue // a scenario the tier leaves out: it ran no host
		}
		if !st.ended {
			st.result.Status = NotStopped
			st.result.Seconds = last.Sub(st.started).Seconds()
			st.failure()
		}
		if st.result.Scenario == "" {
			// The parent logged nothing; a version's intent is on the child.
			st.result.Scenario = parentScenario(tests, key)
		}
		st.result.rank = rank[topKey(st.result)]
		if st.result.Version != "" && !versions[st.result.Version] {
			versions[st.result.Version] = true
			rep.Versions = append(rep.Versions, st.result.Version)
		}
		if st.result.CPUSeconds > 0 {
			rep.CPUSeconds += st.result.CPUSeconds
			rep.Measured++
		}
		if st.result.Counted() {
			rep.Passed++
		} else {
			rep.Failed++
		}
		rep.Results = append(rep.Results, st.result)
	}
	sort.Strings(rep.Versions)
	if pkgFailed && rep.Failed == 0 {
		rep.Errors = append(rep.Errors, "the test run failed outside any scenario:\n"+strings.Join(lastN(pkgOutput, 30), "\n"))
	}
	if len(rep.Results) == 0 {
		rep.Errors = append(rep.Errors, "no scenario ran:\n"+strings.Join(lastN(pkgOutput, 30), "\n"))
	}
	rep.OK = rep.Failed == 0 && len(rep.Errors) == 0
	return rep, nil
}

// output takes one line of the test's log; it tells whether the line was
// the scenario's intent, the first thing a scenario run logs.
func (st *testState) output(ev event) (intent bool) {
	text := strings.TrimRight(ev.Output, "\n")
	if strings.HasPrefix(text, "=== ") || strings.HasPrefix(strings.TrimSpace(text), "--- ") {
		return false
	}
	st.result.Output = append(st.result.Output, text)
	st.tail = lastN(append(st.tail, text), 20)
	m := logLine.FindStringSubmatch(text)
	if m == nil {
		// Undecorated lines continue the message before them: a failure's
		// expected and seen come so, seen maybe over several lines.
		st.continueFailure(strings.TrimSpace(text))
		return false
	}
	st.inFailure, st.inSeen = false, false
	where, msg := m[1], m[2]
	switch {
	case strings.HasPrefix(msg, scenarios.MarkScenario):
		st.result.Scenario = strings.TrimPrefix(msg, scenarios.MarkScenario)
		return true
	case strings.HasPrefix(msg, scenarios.MarkCPU):
		st.cpu(strings.TrimPrefix(msg, scenarios.MarkCPU))
	case strings.HasPrefix(msg, scenarios.MarkStep):
		st.closeStep(ev.Time)
		st.result.Steps = append(st.result.Steps, Step{Name: strings.TrimPrefix(msg, scenarios.MarkStep)})
	case strings.HasPrefix(msg, scenarios.MarkFailed):
		st.result.Failure = &Failure{Step: strings.TrimPrefix(msg, scenarios.MarkFailed), Where: where}
		st.inFailure = true
	}
	return false
}

// cpu takes the host's CPU-seconds so far, logged as the last step ended:
// the step used the difference from the one before.
func (st *testState) cpu(value string) {
	var total float64
	if _, err := fmt.Sscan(value, &total); err != nil {
		return
	}
	if n := len(st.result.Steps); n > 0 {
		st.result.Steps[n-1].CPUSeconds = total - st.result.CPUSeconds
	}
	st.result.CPUSeconds = total
}

// planEntry reads a plan line the test binary printed (scenarios.MarkPlan).
func planEntry(text string) (scenarios.PlanEntry, bool) {
	var e scenarios.PlanEntry
	js, ok := strings.CutPrefix(text, scenarios.MarkPlan)
	if !ok || json.Unmarshal([]byte(js), &e) != nil {
		return e, false
	}
	return e, true
}

// unplanned tells whether r, passed and on no host, is no scenario run:
// the top-level test of a scenario the plan gives no host, or, when there
// is a plan, a test outside it (the placement rules' own unit tests). A
// failed one is always reported.
func unplanned(plan []scenarios.PlanEntry, r Result) bool {
	if len(plan) == 0 || r.Version != "" || r.Status != Pass {
		return false
	}
	for _, e := range plan {
		if e.Test == r.Test {
			return len(e.Images) == 0
		}
	}
	return true
}

func (st *testState) continueFailure(line string) {
	if !st.inFailure {
		return
	}
	f := st.result.Failure
	switch {
	case st.inSeen:
		f.Seen += "\n" + line
	case strings.HasPrefix(line, scenarios.MarkExpected):
		f.Expected = strings.TrimPrefix(line, scenarios.MarkExpected)
	case strings.HasPrefix(line, scenarios.MarkSeen):
		f.Seen = strings.TrimPrefix(line, scenarios.MarkSeen)
		st.inSeen = true
	default:
		f.Expected += "\n" + line
	}
}

// end records the test's verdict.
func (st *testState) end(ev event) {
	st.ended = true
	st.closeStep(ev.Time)
	st.result.Seconds = ev.Elapsed
	switch ev.Action {
	case "pass":
		st.result.Status = Pass
	case "skip":
		st.result.Status = Skip
		st.failure()
	default:
		st.result.Status = Fail
		st.failure()
	}
}

// failure makes sure a result that did not pass says where it stopped, also
// when nothing logged a "step failed" marker (a t.Fatal in the harness, a
// skip, a timeout).
func (st *testState) failure() {
	if st.result.Failure != nil {
		return
	}
	f := &Failure{Step: "(before the first step)"}
	if n := len(st.result.Steps); n > 0 {
		f.Step = st.result.Steps[n-1].Name
	}
	switch st.result.Status {
	case Skip:
		f.Expected = "the scenario runs (a skip counts as a failure)"
	case NotStopped:
		f.Expected = "the scenario ends (it timed out, or the test binary died)"
	default:
		f.Expected = "the step completes"
	}
	var seen []string
	for _, l := range st.tail {
		if m := logLine.FindStringSubmatch(l); m != nil && (strings.HasPrefix(m[2], scenarios.MarkStep) || strings.HasPrefix(m[2], scenarios.MarkScenario)) {
			continue
		}
		seen = append(seen, strings.TrimSpace(l))
	}
	f.Seen = strings.Join(lastN(seen, 10), "\n")
	st.result.Failure = f
}

func (st *testState) closeStep(now time.Time) {
	if n := len(st.result.Steps); n > 0 && st.result.Steps[n-1].Seconds == 0 {
		st.result.Steps[n-1].Seconds = now.Sub(st.lastStep).Seconds()
	}
	st.lastStep = now
}

func hasChildren(tests map[string]*testState, key string) bool {
	for k := range tests {
		if strings.HasPrefix(k, key+"/") {
			return true
		}
	}
	return false
}

func anyChildFailed(tests map[string]*testState, key string) bool {
	for k, st := range tests {
		if strings.HasPrefix(k, key+"/") && st.result.Status != Pass {
			return true
		}
	}
	return false
}

func parentScenario(tests map[string]*testState, key string) string {
	st := tests[key]
	name := st.result.Test
	for i := strings.LastIndex(name, "/"); i >= 0; i = strings.LastIndex(name[:i], "/") {
		if p := tests[st.result.Package+" "+name[:i]]; p != nil && p.result.Scenario != "" {
			return p.result.Scenario
		}
	}
	return ""
}

// topKey names the top-level test of r within its package.
func topKey(r Result) string {
	return r.Package + " " + strings.SplitN(r.Test, "/", 2)[0]
}

func lastN(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

func seconds(s float64) string {
	return fmt.Sprintf("%.1fs", s)
}
