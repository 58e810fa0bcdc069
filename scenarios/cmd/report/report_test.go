package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/internal/junit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The samples are recorded `go test -json` runs:
//   - conformance-pass.json: `go test -json ./scenarios`, every scenario passing;
//   - mixed.json: a small package using the scenarios' markers, with a pass,
//     a failed step, a skip and a t.Fatal outside any marker;
//   - build-failed.json: a package that does not compile;
//   - quick-28.5.json: `USERNS_CONFORMANCE=quick go test -json -run
//     '/^28.5$' ./scenarios`, the quick tier on Docker 28.5, with the plan
//     and the hosts' CPU-seconds.

func parseFile(t *testing.T, name string) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Parse(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func result(t *testing.T, rep *Report, test string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Test == test {
			return r
		}
	}
	t.Fatalf("no result for %s", test)
	return Result{}
}

func TestParseConformancePass(t *testing.T) {
	rep := parseFile(t, "conformance-pass.json")
	if !rep.OK || rep.Passed != 16 || rep.Failed != 0 || len(rep.Errors) != 0 {
		t.Fatalf("want OK with 16 passed, got ok=%v passed=%d failed=%d errors=%q", rep.OK, rep.Passed, rep.Failed, rep.Errors)
	}
	if got := strings.Join(rep.Versions, ","); got != "20.10,26.1" {
		t.Errorf("versions %q, want 20.10,26.1", got)
	}
	r := result(t, rep, "TestCIFlowAfter/26.1")
	if r.Title() != "CI flow, after" || r.Version != "26.1" || r.Seconds <= 0 {
		t.Errorf("got title %q version %q seconds %v", r.Title(), r.Version, r.Seconds)
	}
	if len(r.Steps) < 8 || r.Steps[0].Name != "a fresh Docker host runs unremapped" {
		t.Fatalf("steps: %+v", r.Steps)
	}
	var sum float64
	for _, s := range r.Steps {
		if s.Seconds <= 0 {
			t.Errorf("step %q has no time", s.Name)
		}
		sum += s.Seconds
	}
	if sum > r.Seconds+0.5 {
		t.Errorf("steps add up to %.1fs, more than the scenario's %.1fs", sum, r.Seconds)
	}
}

func TestParseMixedFailureNamesStepExpectedSeen(t *testing.T) {
	rep := parseFile(t, "mixed.json")
	if rep.OK || rep.Passed != 3 || rep.Failed != 3 {
		t.Fatalf("want not OK with 3 passed and 3 failed, got ok=%v passed=%d failed=%d", rep.OK, rep.Passed, rep.Failed)
	}
	f := result(t, rep, "TestRollback/26.1").Failure
	want := Failure{Step: "the files are byte-identical", Expected: "daemon.json as before", Seen: "exit 1: first line\nsecond line", Where: "fake_test.go:31"}
	if f == nil || *f != want {
		t.Errorf("failure %+v, want %+v", f, want)
	}
}

func TestParseSkipCountsAsFailure(t *testing.T) {
	rep := parseFile(t, "mixed.json")
	r := result(t, rep, "TestSkipped/20.10")
	if r.Status != Skip || r.Counted() {
		t.Errorf("status %s counted %v, want SKIP not counted", r.Status, r.Counted())
	}
	if r.Failure == nil || r.Failure.Step != "a fresh host" || !strings.Contains(r.Failure.Seen, "no docker") {
		t.Errorf("failure %+v, want the last step and the skip reason", r.Failure)
	}
}

func TestParseFatalWithoutMarkerNamesLastStep(t *testing.T) {
	r := result(t, parseFile(t, "mixed.json"), "TestSkipped/26.1")
	if r.Status != Fail || r.Failure == nil || r.Failure.Step != "a fresh host" || !strings.Contains(r.Failure.Seen, "no such image") {
		t.Errorf("got %s %+v", r.Status, r.Failure)
	}
}

func TestParseBuildFailure(t *testing.T) {
	rep := parseFile(t, "build-failed.json")
	if rep.OK || len(rep.Errors) == 0 || !strings.Contains(strings.Join(rep.Errors, "\n"), "cannot use") {
		t.Errorf("want not OK with the compiler's error, got ok=%v errors=%q", rep.OK, rep.Errors)
	}
}

func TestParseUnfinishedTest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Cut the run after TestRollback/20.10 logged its second step, as a
	// killed test binary would leave it.
	cut := bytes.Index(data, []byte(`step: the files are byte-identical`))
	end := bytes.IndexByte(data[cut:], '\n')
	rep, err := Parse(bytes.NewReader(data[:cut+end+1]), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := result(t, rep, "TestRollback/20.10")
	if rep.OK || r.Status != NotStopped || r.Failure == nil || r.Failure.Step != "the files are byte-identical" {
		t.Errorf("got ok=%v %s %+v", rep.OK, r.Status, r.Failure)
	}
}

func TestParseNothingRan(t *testing.T) {
	rep, err := Parse(strings.NewReader(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK {
		t.Error("an empty run is OK, want a failure")
	}
}

func TestRunExitCodes(t *testing.T) {
	for _, tc := range []struct {
		sample string
		want   int
	}{
		{"conformance-pass.json", 0},
		{"mixed.json", 1},
		{"build-failed.json", 1},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			in, err := os.Open(filepath.Join("testdata", tc.sample))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			dir := t.TempDir()
			var out, errOut bytes.Buffer
			got := run([]string{"-junit", filepath.Join(dir, "junit.xml"), "-json", filepath.Join(dir, "report.json")}, in, &out, &errOut)
			if got != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", got, tc.want, out.String(), errOut.String())
			}
			for _, f := range []string{"junit.xml", "report.json"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}

func TestWriteTextGolden(t *testing.T) {
	for _, sample := range []string{"mixed", "conformance-pass", "quick-28.5"} {
		t.Run(sample, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, parseFile(t, sample+".json")); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, sample+".golden", b.String())
		})
	}
}

func TestWriteJUnitCountsSkipAsFailure(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, parseFile(t, "mixed.json")); err != nil {
		t.Fatal(err)
	}
	var doc junit.Suites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, b.String())
	}
	if doc.Tests != 6 || doc.Failures != 3 || len(doc.Suites) != 2 {
		t.Errorf("tests=%d failures=%d suites=%d, want 6, 3, 2", doc.Tests, doc.Failures, len(doc.Suites))
	}
	var skip *junit.Case
	for i, c := range doc.Suites[0].Cases {
		if c.Classname == "conformance.TestSkipped" {
			skip = &doc.Suites[0].Cases[i]
		}
	}
	if skip == nil || skip.Failure == nil || skip.Failure.Type != Skip || !strings.Contains(skip.Failure.Text, "USERNS_KEEP_FAILED=1") {
		t.Errorf("skipped case %+v, want a failure of type SKIP with the keep hint", skip)
	}
}

func TestSplitHostNamesVersionAndFlavour(t *testing.T) {
	for name, want := range map[string][2]string{
		"26.1":         {"26.1", "supervised"},
		"26.1-systemd": {"26.1", "systemd"},
		"28.5":         {"28.5", "supervised"},
		"29":           {"29", "supervised"},
		"29-systemd":   {"29", "systemd"},
	} {
		v, f := splitHost(name)
		if v != want[0] || f != want[1] {
			t.Errorf("splitHost(%q) = %q, %q; want %q", name, v, f, want)
		}
	}
}

func TestVersionLessOrdersVersionsAsNumbers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"20.10", "26.1", true}, {"28.5", "29", true}, {"29", "28.5", false}, {"9", "20.10", true}, {"29", "29", false}} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%q, %q) = %v, want %v", c.a, c.b, got, c.less)
		}
	}
}
