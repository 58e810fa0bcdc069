package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/scenarios"
)

// progress prints plain lines as the run goes, good on a terminal and in a
// CI log: the plan once the test binary printed it, a line as each
// scenario run starts, and one as it ends with the count done and the time
// left. Its times are the events' own, so a recorded run prints the same.
type progress struct {
	w io.Writer
	// total is the number of runs the plan gives (0: no plan seen yet).
	total int
	// planSaid: the plan was printed (once, at the first test event).
	planSaid bool
	done     int
	first    time.Time // when the first run started
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) printf(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, format, args...)
	}
}

// planned prints the plan, at the first test event after its lines.
func (p *progress) planned(plan []scenarios.PlanEntry) {
	if p.planSaid || len(plan) == 0 {
		return
	}
	p.planSaid = true
	hosts := map[string]bool{}
	var names []string
	scenarioCount := 0
	for _, e := range plan {
		if len(e.Images) > 0 {
			scenarioCount++
		}
		for _, img := range e.Images {
			p.total++
			if !hosts[img] {
				hosts[img] = true
				names = append(names, img)
			}
		}
	}
	p.printf("%s tier: %s of %s on %s (%s); a line as each run starts and ends\n",
		plan[0].Tier, count(p.total, "run"), count(scenarioCount, "scenario"), count(len(names), "host"), strings.Join(sortedHosts(names), ", "))
}

// started says which scenario now runs on which host.
func (p *progress) started(r Result, at time.Time) {
	if p.first.IsZero() {
		p.first = at
	}
	p.printf("  start  %-6s %-10s  %s\n", r.Version, r.Flavour, r.Title())
}

// ended prints the result with its time, CPU and what is left.
// A test beside the plan (no host: a unit test of the scenarios package)
// is printed but is not one of the plan's runs.
func (p *progress) ended(r Result, at time.Time) {
	if r.Version != "" {
		p.done++
	}
	cpu := ""
	if r.CPUSeconds > 0 {
		cpu = fmt.Sprintf("  %.1f CPU-s", r.CPUSeconds)
	}
	p.printf("  %-5s  %-6s %-10s  %-28s %6s%s  %s\n", r.Status, r.Version, r.Flavour, r.Title(), seconds(r.Seconds), cpu, p.left(at))
}

// left is "[3 of 24 done, 1m10.0s in, about 4m40.0s left]": the runs so far
// took elapsed/done each, in parallel as they ran, and the rest will too.
func (p *progress) left(at time.Time) string {
	if p.total == 0 {
		return fmt.Sprintf("[%d done]", p.done)
	}
	elapsed := at.Sub(p.first)
	if p.first.IsZero() || elapsed < 0 {
		elapsed = 0
	}
	if p.done >= p.total {
		return fmt.Sprintf("[%d of %d done, %s in]", p.done, p.total, clock(elapsed.Seconds()))
	}
	rest := elapsed.Seconds() / float64(p.done) * float64(p.total-p.done)
	return fmt.Sprintf("[%d of %d done, %s in, about %s left]", p.done, p.total, clock(elapsed.Seconds()), clock(rest))
}

// sortedHosts orders image names by version, supervised before systemd.
func sortedHosts(names []string) []string {
	rs := make([]Result, len(names))
	for i, n := range names {
		rs[i].Version, rs[i].Flavour = splitHost(n)
	}
	rs = sorted(rs)
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Version
		if r.Flavour != "supervised" {
			out[i] += "-" + r.Flavour
		}
	}
	return out
}

// count is "1 run", "7 runs".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
