package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/docker-userns/docker-userns/internal/junit"
	"github.com/docker-userns/docker-userns/scenarios"
)

// keepHint tells how to keep a failed scenario's DinD containers.
const keepHint = "To keep the DinD containers of failed scenarios for inspection, run again with USERNS_KEEP_FAILED=1\n(e.g. USERNS_KEEP_FAILED=1 make conformance); the test log then names each kept container."

// WriteText prints the report for people: one line per scenario and Docker
// version, then each failure with its step, expected and seen.
func WriteText(w io.Writer, rep *Report) error {
	var b strings.Builder
	verdict := "PASS"
	if !rep.OK {
		verdict = "FAIL"
	}
	tier := ""
	if rep.Tier != "" {
		tier = " (" + rep.Tier + " tier)"
	}
	fmt.Fprintf(&b, "Conformance %s%s: %d of %d scenario runs passed on Docker %s in %s\n\n",
		verdict, tier, rep.Passed, len(rep.Results), strings.Join(rep.Versions, ", "), clock(rep.Seconds))
	writeClaims(&b, rep)

	width := len("SCENARIO")
	for _, r := range rep.Results {
		width = max(width, len(r.Title()))
	}
	fmt.Fprintf(&b, "  %-14s  %-7s  %-10s  %-*s  %8s\n", "RESULT", "DOCKER", "FLAVOUR", width, "SCENARIO", "TIME")
	for _, r := range sorted(rep.Results) {
		fmt.Fprintf(&b, "  %-14s  %-7s  %-10s  %-*s  %8s\n", r.Status, r.Version, r.Flavour, width, r.Title(), seconds(r.Seconds))
	}

	writePlacements(&b, rep)
	if rep.Measured > 0 {
		fmt.Fprintf(&b, "\nCPU: %.1f CPU-seconds in the DinD hosts over %d runs, %.1f a run (each host's cgroup)", rep.CPUSeconds, rep.Measured, rep.CPUSeconds/float64(rep.Measured))
		if p := rep.ProcessCPUSeconds; p != [2]float64{} {
			fmt.Fprintf(&b, ";\n%.1f in the test process and %.1f in its go builds; the machine's own dockerd and shims are not counted", p[0], p[1])
		}
		b.WriteString(".\n")
	}

	for _, r := range sorted(rep.Results) {
		if r.Counted() || r.Failure == nil {
			continue
		}
		f := r.Failure
		fmt.Fprintf(&b, "\n%s  %s on Docker %s (%s)\n", r.Status, r.Title(), r.Host(), r.Test)
		fmt.Fprintf(&b, "  scenario: %s\n", r.Scenario)
		fmt.Fprintf(&b, "  step:     %s\n", f.Step)
		fmt.Fprintf(&b, "  expected: %s\n", indent(f.Expected, 12))
		fmt.Fprintf(&b, "  seen:     %s\n", indent(f.Seen, 12))
		if f.Where != "" {
			fmt.Fprintf(&b, "  at:       scenarios/%s\n", f.Where)
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(&b, "\nERROR  %s\n", indent(e, 2))
	}
	if !rep.OK {
		fmt.Fprintf(&b, "\n%s\n", keepHint)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeClaims says first, in a user's words, what the run proved and where:
// a claim of the plan is proved when its scenario passed on every host the
// plan gave it.
func writeClaims(b *strings.Builder, rep *Report) {
	var proved, failed []string
	var systemd []string
	for _, r := range sorted(rep.Results) {
		if r.Flavour == "systemd" && !slices.Contains(systemd, r.Version) {
			systemd = append(systemd, r.Version)
		}
	}
	for _, e := range rep.Plan {
		if len(e.Images) == 0 {
			continue
		}
		var passed, notPassed []string
		for _, img := range e.Images {
			r, ok := findResult(rep, e.Test, img)
			switch {
			case !ok:
				notPassed = append(notPassed, img+" (did not run)")
			case r.Counted():
				passed = append(passed, img)
			default:
				notPassed = append(notPassed, img+" ("+r.Status+")")
			}
		}
		if len(notPassed) == 0 {
			proved = append(proved, fmt.Sprintf("  - %s\n    on %s", e.Claim, strings.Join(sortedHosts(passed), ", ")))
		} else {
			failed = append(failed, fmt.Sprintf("  - %s\n    not on %s", e.Claim, strings.Join(notPassed, ", ")))
		}
	}
	if len(proved) > 0 {
		where := "Docker " + strings.Join(rep.Versions, ", ")
		if len(systemd) > 0 {
			where += ", supervised and under systemd (" + strings.Join(systemd, ", ") + ")"
		}
		fmt.Fprintf(b, "Proved on %s:\n%s\n\n", where, strings.Join(proved, "\n"))
	}
	if len(failed) > 0 {
		fmt.Fprintf(b, "Not proved:\n%s\n\n", strings.Join(failed, "\n"))
	}
}

// writePlacements prints the tier's placement table: which scenario ran
// on which hosts, and why there.
func writePlacements(b *strings.Builder, rep *Report) {
	if len(rep.Plan) == 0 {
		return
	}
	fmt.Fprintf(b, "\nWhere each scenario ran (%s tier; the table is scenarios/tiers_test.go):\n", rep.Tier)
	var left int
	for _, e := range rep.Plan {
		if len(e.Images) == 0 {
			left++
			continue
		}
		title := strings.TrimPrefix(e.Test, "Test")
		for _, r := range rep.Results {
			if topKey(r) == r.Package+" "+e.Test {
				title = r.Title()
				break
			}
		}
		fmt.Fprintf(b, "  %s: %s (%s)\n", title, e.Hosts, strings.Join(sortedHosts(e.Images), ", "))
		if e.Why != "" {
			fmt.Fprintf(b, "    why: %s\n", e.Why)
		}
	}
	if left > 0 && rep.Tier != scenarios.TierAll {
		fmt.Fprintf(b, "  %d more scenarios run in the full tier: make conformance-all (make test runs it).\n", left)
	}
}

func findResult(rep *Report, test, img string) (Result, bool) {
	for _, r := range rep.Results {
		if r.Test == test+"/"+img {
			return r, true
		}
	}
	return Result{}, false
}

// WriteJSON writes the whole report, steps and their times included.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteJUnit writes JUnit XML: one suite per Docker version and flavour
// ("docker 26.1 systemd"), one case per scenario. A skipped scenario is a failure here too, so that CI systems
// do not count it as passed.
func WriteJUnit(w io.Writer, rep *Report) error {
	doc := junit.Suites{Name: "docker-userns conformance", Time: junit.Seconds(rep.Seconds)}
	byVersion := map[string]*junit.Suite{}
	var names []string
	for _, r := range sorted(rep.Results) {
		s := byVersion[r.Host()]
		if s == nil {
			s = &junit.Suite{Name: "docker " + r.Host()}
			byVersion[r.Host()] = s
			names = append(names, r.Host())
		}
		c := junit.Case{Name: r.Title(), Classname: "conformance." + strings.SplitN(r.Test, "/", 2)[0], Time: junit.Seconds(r.Seconds)}
		if !r.Counted() {
			f := r.Failure
			c.Failure = &junit.Failure{
				Type:    r.Status,
				Message: fmt.Sprintf("%s at step: %s", r.Status, f.Step),
				Text:    fmt.Sprintf("scenario: %s\nstep: %s\nexpected: %s\nseen: %s\nat: %s\n\n%s", r.Scenario, f.Step, f.Expected, f.Seen, f.Where, keepHint),
			}
			s.Failures++
			doc.Failures++
			c.SystemOut = strings.Join(r.Output, "\n")
		}
		s.Tests++
		doc.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, v := range names {
		s := byVersion[v]
		var total float64
		for _, r := range rep.Results {
			if r.Host() == v {
				total += r.Seconds
			}
		}
		s.Time = junit.Seconds(total)
		doc.Suites = append(doc.Suites, *s)
	}
	if len(rep.Errors) > 0 {
		doc.Errors = len(rep.Errors)
		doc.Suites = append(doc.Suites, junit.Suite{Name: "run", Errors: len(rep.Errors), Time: "0", SystemErr: strings.Join(rep.Errors, "\n\n")})
	}
	return junit.Write(w, doc)
}

// sorted orders results by scenario in the order they started (the source
// order), then by version.
func sorted(results []Result) []Result {
	out := append([]Result(nil), results...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].rank != out[j].rank {
			return out[i].rank < out[j].rank
		}
		if out[i].Version != out[j].Version {
			return versionLess(out[i].Version, out[j].Version)
		}
		return out[i].Flavour > out[j].Flavour // supervised, then systemd
	})
	return out
}

// versionLess compares "20.10" and "26.1" as numbers, part by part.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscan(pa[i], &x)
		fmt.Sscan(pb[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

func indent(text string, n int) string {
	if text == "" {
		return "(nothing)"
	}
	return strings.ReplaceAll(text, "\n", "\n"+strings.Repeat(" ", n))
}

// clock prints seconds as minutes and tenths of seconds, rounded to the
// tenth first so that 599.97 s is 10m00.0s, not 9m60.0s.
func clock(s float64) string {
	tenths := int(math.Round(s * 10))
	return fmt.Sprintf("%dm%02d.%ds", tenths/600, tenths%600/10, tenths%10)
}
