package commands

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/report"
)

// TestFleetRowsOfTestAndCheckImageGolden: the fleet table's rows that
// test and check-image make of one host each.
func TestFleetRowsOfTestAndCheckImageGolden(t *testing.T) {
	pass := testReport()
	pass.Failed = nil
	left := testReport()
	left.Leftovers = []string{"image docker-userns-probe:x"}
	m := &imagescan.Mapping{Remapped: true, UIDs: 65536, GIDs: 65536, From: "--size"}
	fits := imagescan.Image{Name: "fits:latest", MaxGID: 1000}
	high := imagescan.Image{Name: "high:latest", MaxUID: 70000}
	rows := map[string]func() (fleet.Outcome, error){
		"test-pass":       func() (fleet.Outcome, error) { return report.TestRow(pass) },
		"test-fail":       func() (fleet.Outcome, error) { return report.TestRow(left) },
		"test-incomplete": func() (fleet.Outcome, error) { return report.TestRow(incompleteReport()) },
		"fits": func() (fleet.Outcome, error) {
			return report.ImagesRow(imagescan.Checked{Rows: []imagescan.Row{{Ref: "a.tar", Image: fits, Verdict: imagescan.Judge(fits, m)}}})
		},
		"misfit": func() (fleet.Outcome, error) {
			return report.ImagesRow(imagescan.Checked{Rows: []imagescan.Row{{Ref: "a.tar", Image: fits, Verdict: imagescan.Judge(fits, m)}, {Ref: "a.tar", Image: high, Verdict: imagescan.Judge(high, m)}}})
		},
		"unknown": func() (fleet.Outcome, error) {
			return report.ImagesRow(imagescan.Checked{Rows: []imagescan.Row{{Ref: "a.tar", Image: high, Verdict: imagescan.Judge(high, nil)}}})
		},
		"unreadable": func() (fleet.Outcome, error) {
			return report.ImagesRow(imagescan.Checked{Rows: []imagescan.Row{{Ref: "a.tar", Image: fits, Verdict: imagescan.Judge(fits, m)}}, Failed: []error{errors.New("check-image b.tar: no such file")}})
		},
	}
	names := []string{"test-pass", "test-fail", "test-incomplete", "fits", "misfit", "unknown", "unreadable"}
	var out bytes.Buffer
	dockerCLI, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	err = writeRows(dockerCLI, "test", fleet.Options{NoCanary: true, Parallel: len(names)}, names, rows)
	if want := "test: 7 hosts: 1 PASS, 1 FAIL (failed), 1 INCOMPLETE, 1 fits, 1 does not fit (failed), 1 unknown, 1 unreadable (failed)"; err == nil || err.Error() != want {
		t.Errorf("rollout error %v", err)
	}
	golden.Assert(t, out.String(), "fleet-reports.golden")
}

// writeRows prints the fleet table of the rows each host's function
// makes, as a command does with what fleet.RollPrefixed gives back.
func writeRows(dockerCLI command.Cli, action string, opts fleet.Options, names []string, rows map[string]func() (fleet.Outcome, error)) error {
	results := fleet.RollPrefixed(context.Background(), names, opts, dockerCLI.Err(), func(_ context.Context, host string, _ io.Writer) (fleet.Outcome, error) {
		return rows[host]()
	})
	return writeFleet(dockerCLI, action, "", results)
}
