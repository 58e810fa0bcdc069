package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/scenarios"
)

// Tests of the tiers' plan, the CPU figures, the claims and the progress
// lines (scenarios.PlanEntry, scenarios.MarkCPU).

func TestParsePlanLeavesOutScenariosOutsideTheTier(t *testing.T) {
	rep := parseFile(t, "quick-28.5.json")
	if !rep.OK || rep.Tier != "quick" || len(rep.Plan) != 20 || len(rep.Results) != 7 {
		t.Fatalf("got ok=%v tier=%q plan=%d results=%d, want OK, quick, 20, 7", rep.OK, rep.Tier, len(rep.Plan), len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Version != "28.5" || r.CPUSeconds <= 0 {
			t.Errorf("%s: version %q cpu %.2f, want 28.5 and a CPU figure", r.Test, r.Version, r.CPUSeconds)
		}
	}
	if rep.Measured != 7 || rep.CPUSeconds < 10 {
		t.Errorf("cpu %.1f over %d runs, want all 7 measured", rep.CPUSeconds, rep.Measured)
	}
}

// A run cut short proves nothing about what did not finish, and says so
// before the table.
func TestWriteTextNamesClaimsNotProved(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "quick-28.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(data, []byte(`"Action":"pass","Package":"github.com/docker-userns/docker-userns/scenarios","Test":"TestHighUIDPull/28.5"`))
	if cut < 0 {
		t.Fatal("sample has no pass of TestHighUIDPull/28.5")
	}
	cut = bytes.LastIndexByte(data[:cut], '\n')
	rep, err := Parse(bytes.NewReader(data[:cut+1]), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	notProved := strings.Index(text, "Not proved:")
	claim := strings.Index(text, "an image with a file owned by uid 70000")
	table := strings.Index(text, "RESULT")
	if rep.OK || notProved < 0 || claim < notProved || table < claim || !strings.Contains(text, "not on 28.5 (DID NOT FINISH)") {
		t.Errorf("want the high-UID claim under Not proved before the table:\n%s", text)
	}
}

// What a user watches while the run goes: the plan, each run as it starts
// and ends, the count and the time left.
func TestProgressGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "quick-28.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := Parse(f, &b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "quick-28.5.progress.golden", b.String())
}

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update):\n%s", golden, t.Name(), got)
	}
}

// With a plan, the package's other tests (the placement rules' unit tests)
// are no scenario runs when they pass, and errors when they fail.
func TestParseOtherTestsBesideThePlan(t *testing.T) {
	const pkg = `"Package":"example.invalid/scenarios"`
	lines := []string{
		`{"Action":"start",` + pkg + `}`,
		`{"Action":"output",` + pkg + `,"Output":"conformance plan: {\"tier\":\"quick\",\"test\":\"TestA\",\"claim\":\"a holds\",\"hosts\":\"every image\",\"images\":[\"28.5\"]}\n"}`,
		`{"Action":"run",` + pkg + `,"Test":"TestRules"}`,
		`{"Action":"pass",` + pkg + `,"Test":"TestRules","Elapsed":0}`,
		`{"Action":"run",` + pkg + `,"Test":"TestBroken"}`,
		`{"Action":"fail",` + pkg + `,"Test":"TestBroken","Elapsed":0}`,
		`{"Action":"run",` + pkg + `,"Test":"TestA"}`,
		`{"Action":"run",` + pkg + `,"Test":"TestA/28.5"}`,
		`{"Action":"pass",` + pkg + `,"Test":"TestA/28.5","Elapsed":1}`,
		`{"Action":"pass",` + pkg + `,"Test":"TestA","Elapsed":1}`,
	}
	rep, err := Parse(strings.NewReader(strings.Join(lines, "\n")+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Test+" "+r.Status)
	}
	if strings.Join(got, ", ") != "TestBroken FAIL, TestA/28.5 PASS" || rep.OK {
		t.Errorf("results %q ok=%v, want TestBroken FAIL and TestA/28.5 PASS, not OK", got, rep.OK)
	}
}

// TestClockCarriesRoundedSeconds: a time just under a minute boundary
// rounds up into the next minute ("about 9m60.0s left" was printed).
func TestClockCarriesRoundedSeconds(t *testing.T) {
	for s, want := range map[float64]string{
		0:      "0m00.0s",
		5.24:   "0m05.2s",
		59.96:  "1m00.0s",
		599.97: "10m00.0s",
		610.04: "10m10.0s",
	} {
		if got := clock(s); got != want {
			t.Errorf("clock(%v) = %q, want %q", s, got, want)
		}
	}
}

// TestProgressCountsOnlyPlannedRuns: a test beside the plan (a unit test
// of the scenarios package) is printed but not counted as a run ("72 of
// 71 done" was printed).
func TestProgressCountsOnlyPlannedRuns(t *testing.T) {
	var out strings.Builder
	p := newProgress(&out)
	p.planned([]scenarios.PlanEntry{{Tier: "all", Test: "TestCIFlowAfter", Images: []string{"28.5"}}})
	start := time.Unix(0, 0)
	p.started(Result{Test: "TestCIFlowAfter/28.5", Version: "28.5", Flavour: "supervised"}, start)
	p.ended(Result{Test: "TestQuickTierPlacesNewImagesByRule", Status: "PASS"}, start.Add(time.Second))
	p.ended(Result{Test: "TestCIFlowAfter/28.5", Version: "28.5", Flavour: "supervised", Status: "PASS"}, start.Add(2*time.Second))
	if !strings.Contains(out.String(), "[1 of 1 done") || strings.Contains(out.String(), "[2 of 1 done") {
		t.Errorf("progress counted a test beside the plan as a run:\n%s", out.String())
	}
}
