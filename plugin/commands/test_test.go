package commands

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
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
	if err := writeTestReport(&buf, "", testReport()); err != nil {
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
	if err := writeTestReport(&buf, "json", testReport()); err != nil {
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
	if err := writeTestReport(&buf, `{{range .Checks}}{{.Name}}={{.Status}};{{end}}`, testReport()); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != "remapping on=PASS;bind mount owner=FAIL;" {
		t.Errorf("template output %q", got)
	}
}

func TestWriteJUnitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	if err := writeJUnitFile(path, testReport()); err != nil {
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
	if err := writeJUnitFile(filepath.Join(t.TempDir(), "no", "such", "dir.xml"), testReport()); err == nil {
		t.Error("want an error for a directory that does not exist")
	}
}

func TestWriteTestReportLeftovers(t *testing.T) {
	r := testReport()
	r.Leftovers = []string{"remove temporary directory /tmp/x: busy"}
	var buf bytes.Buffer
	if err := writeTestReport(&buf, "", r); err != nil {
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
