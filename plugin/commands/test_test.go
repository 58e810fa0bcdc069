package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/report"
)

// testReport is a report with one passing and one failing check.
func testReport() livecheck.Report {
	return livecheck.Report{
		Daemon:  "26.1.5",
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Seconds: 2.25,
		Checks: []livecheck.Check{
			{Name: livecheck.CheckRemapping, OK: true, Status: "PASS", Expected: "name=userns in docker info SecurityOptions", Observed: "name=userns listed: the daemon remaps"},
			{Name: livecheck.CheckBindOwner, Status: "FAIL", Expected: "owned by 999:999 (agent) on the host", Observed: "0:0"},
		},
		Failed: []string{livecheck.CheckBindOwner},
	}
}

func TestWriteTestReportTable(t *testing.T) {
	var buf bytes.Buffer
	if err := writeTestReport(&buf, testReport()); err != nil {
		t.Fatal(err)
	}
	want := `PASS  remapping on
      expected  name=userns in docker info SecurityOptions
      observed  name=userns listed: the daemon remaps
FAIL  bind mount owner
      expected  owned by 999:999 (agent) on the host
      observed  0:0

FAIL (bind mount owner): 1 of 2 checks passed on Docker 26.1.5 in 2.2s
`
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteTestReportJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := dockerformat.Write(&buf, "json", testReport(), nil); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Daemon string   `json:"daemon"`
		OK     bool     `json:"ok"`
		Failed []string `json:"failed"`
		Checks []struct {
			Name     string `json:"name"`
			OK       bool   `json:"ok"`
			Status   string `json:"status"`
			Expected string `json:"expected"`
			Observed string `json:"observed"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if got.Daemon != "26.1.5" || got.OK || len(got.Failed) != 1 || got.Failed[0] != "bind mount owner" {
		t.Errorf("report %+v", got)
	}
	if len(got.Checks) != 2 || got.Checks[1].Status != "FAIL" || got.Checks[1].Expected != "owned by 999:999 (agent) on the host" || got.Checks[0].OK != true {
		t.Errorf("checks %+v", got.Checks)
	}
}

func TestWriteTestReportTemplate(t *testing.T) {
	var buf bytes.Buffer
	if err := dockerformat.Write(&buf, `{{range .Checks}}{{.Name}}={{.Status}};{{end}}`, testReport(), nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != "remapping on=PASS;bind mount owner=FAIL;" {
		t.Errorf("template output %q", got)
	}
}

func TestWriteJUnitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	r := testReport()
	if err := writeJUnitFile(path, []report.Host[livecheck.Report]{{Value: &r}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="docker userns test" tests="2" failures="1"`, `<testcase name="bind mount owner"`, `message="expected owned by 999:999 (agent) on the host; observed 0:0"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("junit file lacks %s:\n%s", want, data)
		}
	}
	if err := writeJUnitFile(filepath.Join(t.TempDir(), "no", "such", "dir.xml"), []report.Host[livecheck.Report]{{Value: &r}}); err == nil {
		t.Error("want an error for a directory that does not exist")
	}
}

func TestWriteTestReportLeftovers(t *testing.T) {
	r := testReport()
	r.Leftovers = []string{"remove temporary directory /tmp/x: busy"}
	var buf bytes.Buffer
	if err := writeTestReport(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LEFT  remove temporary directory /tmp/x: busy\n", "FAIL (bind mount owner, 1 left behind): 1 of 2 checks passed"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	if len(r.Failed) != 1 {
		t.Errorf("writing the report changed Failed: %v", r.Failed)
	}
}

// incompleteReport is a run that could not reach the host's files.
func incompleteReport() livecheck.Report {
	why := "the helper container that reads them through the daemon did not run (create probe container: forbidden)"
	return livecheck.Report{
		Daemon: "28.5.2", Seconds: 1,
		Checks: []livecheck.Check{
			{Name: livecheck.CheckRemapping, OK: true, Status: livecheck.StatusPass, Expected: "name=userns", Observed: "listed"},
			{Name: livecheck.CheckBindOwner, Skipped: true, Status: livecheck.StatusSkip, Expected: "owned by container root's host user", Observed: "needs the host's files: " + why},
		},
		Incomplete:     []string{livecheck.CheckBindOwner},
		HostFilesError: why,
	}
}

// TestIncompleteIsNeitherPassNorFail: a run without the host's files
// exits 2 saying it was incomplete, a failed check 1 (also beside
// incomplete ones), a pass 0; in a fleet an incomplete host is not a
// failed one.
func TestIncompleteIsNeitherPassNorFail(t *testing.T) {
	inc := incompleteReport()
	var buf bytes.Buffer
	if err := writeTestReport(&buf, inc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SKIP  bind mount owner\n", "observed  needs the host's files: the helper container", "INCOMPLETE (1 need the host's files): 1 of 2 checks passed on Docker 28.5.2"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	var status cli.StatusError
	if err := testExit(inc); !errors.As(err, &status) || status.StatusCode != exitIncomplete || !strings.Contains(status.Status, "incomplete") || strings.Contains(status.Status, "failed") {
		t.Errorf("incomplete run exits %v", err)
	}
	if out, err := report.TestRow(inc); err != nil || out.Result != "INCOMPLETE" || !strings.Contains(out.Message, "need the host's files") {
		t.Errorf("incomplete host in a fleet: %+v, %v", out, err)
	}

	both := incompleteReport()
	both.Failed = []string{livecheck.CheckRemapping}
	if err := testExit(both); !errors.As(err, &status) || status.StatusCode != 1 {
		t.Errorf("failed and incomplete run exits %v, want 1", err)
	}
	if out, err := report.TestRow(both); err == nil || out.Result != "FAIL" {
		t.Errorf("failed host in a fleet: %+v, %v", out, err)
	}
	pass := testReport()
	pass.Failed = nil
	if err := testExit(pass); err != nil {
		t.Errorf("passing run exits %v", err)
	}
}

// TestJUnitOfAFleetHasASuitePerHost: --junit with --context writes one
// testsuite per host; an incomplete host's checks are skipped, a host that
// could not be tested is in error.
func TestJUnitOfAFleetHasASuitePerHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.xml")
	pass, inc := testReport(), incompleteReport()
	reads := []report.Host[livecheck.Report]{{Name: "h1", Value: &pass}, {Name: "h2", Value: &inc}, {Name: "h3", Err: errors.New("ask the daemon for its info: connection refused")}}
	if err := writeJUnitFile(path, reads); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="docker userns test (h1)"`, `<testsuite name="docker userns test (h2)" tests="2" failures="0" errors="0" skipped="1"`,
		`<skipped message="needs the host&#39;s files: the helper container`, `<testsuite name="docker userns test (h3)"`, `<error message="ask the daemon for its info: connection refused"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("junit lacks %s:\n%s", want, data)
		}
	}
}
