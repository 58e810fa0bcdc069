package commands

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/change"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/report"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// The human output of every command, as people read it, is kept in
// testdata/*.golden. After a deliberate change of wording:
//
//	go test ./plugin/commands/ -run Golden -update

// ownerPlan is the owner layout of agent (uid and gid 999).
func ownerPlan() *rangeplan.Plan {
	m := idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}
	return &rangeplan.Plan{
		Layout: rangeplan.Layout("owner"),
		User:   "agent",
		UID:    rangeplan.Side{File: "/etc/subuid", Map: m, Root: 999, Size: 65536},
		GID:    rangeplan.Side{File: "/etc/subgid", Map: m, Root: 999, Size: 65536},
	}
}

func TestWriteOutcomeGolden(t *testing.T) {
	for _, c := range []struct {
		golden string
		out    remap.Outcome
	}{
		{"enable-enabled.golden", remap.Outcome{
			Action: "enable", Result: "enabled", Remap: "agent", Plan: ownerPlan(),
			Files:   []string{"/etc/subuid", "/etc/subgid", "/etc/docker/daemon.json"},
			Backups: []string{"/etc/subuid.docker-userns.bak", "/etc/subgid.docker-userns.bak"},
			Checks: verify.Report{
				{Name: "daemon reports name=userns", OK: true, Observed: "remapping on"},
				{Name: "data root", OK: true, Observed: "/var/lib/docker/999.999"},
				{Name: "container uid_map", OK: false, Observed: "0 0 4294967295"},
			},
		}},
		{"enable-dry-run.golden", remap.Outcome{
			Action: "enable", Result: "dry run", Remap: "agent", Plan: ownerPlan(),
			Diff:    "--- /etc/subuid\n+++ /etc/subuid\n@@ -1 +1,2 @@\n+agent:999:1\n agent:165536:65535\n",
			Restart: "restart docker.service with systemd",
		}},
		{"enable-dry-run-unchanged.golden", remap.Outcome{Action: "enable", Result: "dry run", Restart: "no restart"}},
		{"enable-already.golden", remap.Outcome{Action: "enable", Result: "already enabled", Remap: "agent", Plan: ownerPlan()}},
		// --restart none: the wording issue 13 names (a typed Result in
		// remap would let this read as a sentence).
		{"enable-restart-none.golden", remap.Outcome{Action: "enable", Result: "files changed", Remap: "agent", Files: []string{"/etc/docker/daemon.json"}, Restart: "no restart (--restart none): restart the daemon yourself to apply the change"}},
		{"disable-disabled.golden", remap.Outcome{
			Action: "disable", Result: "disabled", Files: []string{"/etc/docker/daemon.json"},
			Checks: verify.Report{{Name: "daemon reports name=userns", OK: true, Observed: "remapping off"}},
		}},
		{"disable-already.golden", remap.Outcome{Action: "disable", Result: "already disabled"}},
		// --keep-images --keep-volumes: one item a line, what was left
		// behind with the reason.
		{"enable-carried.golden", remap.Outcome{
			Action: "enable", Result: "enabled", Remap: "agent", Plan: ownerPlan(),
			Files: []string{"/etc/docker/daemon.json"},
			Carried: &carry.Report{Items: []carry.Item{
				{Kind: carry.Image, Name: "app:1, app:latest", Bytes: 412_000_000, Result: carry.Carried},
				{Kind: carry.Volume, Name: "pgdata", Bytes: 48_213, Files: 12, Result: carry.Carried},
				{Kind: carry.Volume, Name: "cache", Bytes: 0, Result: carry.NotCarried, Note: "the new data root has a volume cache used by container web: left as it is"},
				{Kind: carry.Volume, Name: "shared", Result: carry.LeftAlone, Note: `driver "nfs": only volumes of the local driver are carried`},
			}},
		}},
		{"disable-dry-run-carried.golden", remap.Outcome{
			Action: "disable", Result: "dry run", Restart: "signal the daemon",
			Carried: &carry.Report{Items: []carry.Item{{Kind: carry.Image, Name: "app:1", Bytes: 412_000_000, Result: carry.WouldCarry}}},
		}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := dockerformat.Write(&buf, "", c.out.Public(), func(w io.Writer) error { return writeOutcome(w, c.out) }); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, buf.String(), c.golden)
		})
	}
}

// TestWriteOutcomeJSONGolden: the --format json line of enable and
// disable, which scripts and the Ansible role (deploy/ansible) read:
// "changed" is what they report.
func TestWriteOutcomeJSONGolden(t *testing.T) {
	outcomes := []remap.Outcome{
		{Action: "enable", Result: "enabled", Changed: true, Remap: "agent", Plan: ownerPlan(), Files: []string{"/etc/docker/daemon.json"}},
		{Action: "enable", Result: "already enabled", Remap: "agent", Plan: ownerPlan()},
		{Action: "enable", Result: "dry run", Changed: true, Remap: "agent", Restart: "signal the daemon", Files: []string{"/etc/docker/daemon.json"}},
		{Action: "disable", Result: "dry run", Restart: "no restart"},
	}
	var buf bytes.Buffer
	for _, out := range outcomes {
		if err := dockerformat.Write(&buf, "json", out.Public(), nil); err != nil {
			t.Fatal(err)
		}
	}
	golden.Assert(t, buf.String(), "outcome-json.golden")
}

func TestWriteStatusGolden(t *testing.T) {
	m := ownerPlan().UID.Map
	for _, c := range []struct {
		golden string
		st     remap.Status
	}{
		{"status-remapped.golden", remap.Status{
			Daemon:     &daemon.State{Version: "26.1.5", Remapped: true, DataRoot: "/var/lib/docker/999.999"},
			Setting:    "agent",
			Source:     "/etc/docker/daemon.json",
			User:       &remapspec.Identity{User: "agent", UID: 999, Group: "agent", GID: 999, Exists: true},
			UIDRanges:  []subid.Range{{Owner: "agent", Start: 999, Count: 1}, {Owner: "agent", Start: 165536, Count: 65535}},
			GIDRanges:  []subid.Range{{Owner: "agent", Start: 999, Count: 1}, {Owner: "agent", Start: 165536, Count: 65535}},
			UIDMap:     m,
			GIDMap:     m,
			Rule:       idmap.UIDFirst,
			Root:       &remap.RootOwner{UID: 999, User: "agent", GID: 999, Group: "agent"},
			Warnings:   []string{"container build-1 runs with --userns=host: it bypasses remapping"},
			ImageStore: &remap.StoreSwitch{Now: "overlay2", After: "overlay2", Remapping: "off", Version: "26.1.5"},
			LeftBehind: []carry.RootContent{{Path: "/var/lib/docker", Images: 12, Containers: 3, Volumes: 2}},
		}},
		// Docker 29 on its default store, before enable.
		{"status-docker29.golden", remap.Status{
			Daemon:     &daemon.State{Version: "29.8.1", DataRoot: "/var/lib/docker", ImageStore: "containerd"},
			ImageStore: &remap.StoreSwitch{Now: "containerd", After: "a graphdriver", Remapping: "on", Version: "29.8.1"},
		}},
		{"status-unreachable.golden", remap.Status{DaemonError: "ask the daemon for its info: connection refused"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := dockerformat.Write(&buf, "", c.st, func(w io.Writer) error { return writeStatus(w, c.st) }); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, buf.String(), c.golden)
		})
	}
}

func doctorFindings() remap.Findings {
	return remap.Findings{
		{Check: "user namespaces", Verdict: remap.Pass, Detail: "user.max_user_namespaces = 63459"},
		{Check: "subuid", Verdict: remap.Warn, Detail: "agent has no range", Fix: "docker userns enable agent"},
		{Check: "daemon.json", Verdict: remap.Fail, Detail: "/etc/docker/daemon.json line 3: invalid character '}'", Fix: "repair the file at the line named"},
		{Check: "local images", Verdict: remap.Pass, Detail: "all 4 local images fit a 65536-wide range", Fix: "not shown for a PASS"},
	}
}

func TestWriteFindingsGolden(t *testing.T) {
	var buf bytes.Buffer
	findings := doctorFindings()
	if err := dockerformat.Write(&buf, "", findings, func(w io.Writer) error { return writeFindings(w, findings) }); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, buf.String(), "doctor.golden")
}

func TestWriteTestReportGolden(t *testing.T) {
	pass := testReport()
	pass.Checks[1].OK, pass.Checks[1].Status, pass.Checks[1].Observed = true, "PASS", "999:999"
	pass.Failed, pass.OK = nil, true
	left := testReport()
	left.Leftovers = []string{"remove temporary directory /tmp/x: busy"}
	for golden_, r := range map[string]livecheck.Report{"test-pass.golden": pass, "test-fail.golden": left} {
		t.Run(golden_, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeTestReport(&buf, r); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, buf.String(), golden_)
		})
	}
}

func TestWriteCheckImageGolden(t *testing.T) {
	fits := imagescan.Image{Name: "fits:latest", Source: imagescan.SourceFile, Layers: 1, Entries: 3, MaxUID: 0, MaxGID: 1000}
	high := imagescan.Image{Name: "high:latest", Source: imagescan.SourceFile, Layers: 2, Entries: 6, MaxUID: 70000, MaxGID: 75000,
		Holders: []imagescan.Entry{
			{Path: "home/app/data", Layer: "sha256:0123456789abcdef0123456789abcdef", LayerIndex: 1, UID: 70000, GID: 1000},
			{Path: "etc/.wh.motd", Layer: "sha256:0123456789abcdef0123456789abcdef", LayerIndex: 1, UID: 0, GID: 75000},
		}}
	m := &imagescan.Mapping{Remapped: true, UIDs: 65536, GIDs: 65536, From: "--size"}
	rows := []imagescan.Row{
		{Ref: "images.tar", Image: fits, Verdict: imagescan.Judge(fits, m)},
		{Ref: "images.tar", Image: high, Verdict: imagescan.Judge(high, m)},
	}
	var buf bytes.Buffer
	if err := writeCheckImage(&buf, "", rows); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, buf.String(), "check-image.golden")
}

// TestFleetTableGolden: the table a rollout prints, with the rows that
// enable, status and doctor make of one host each.
func TestFleetTableGolden(t *testing.T) {
	reverted := &remap.RevertedError{Reason: "the daemon did not come back within 1m0s"}
	rows := map[string]func() (fleet.Outcome, error){
		"enabled": func() (fleet.Outcome, error) {
			return change.HostRow(remap.Outcome{Action: "enable", Result: "enabled", Remap: "agent", Plan: ownerPlan()}, nil, true)
		},
		"reverted": func() (fleet.Outcome, error) {
			return change.HostRow(remap.Outcome{}, reverted, false)
		},
		"failed": func() (fleet.Outcome, error) {
			return change.HostRow(remap.Outcome{}, errors.New("on the daemon's host: read /etc/subuid: permission denied\nsecond line"), false)
		},
		"status": func() (fleet.Outcome, error) {
			return report.StatusRow(remap.Status{Daemon: &daemon.State{Version: "20.10.24", Remapped: true, DataRoot: "/var/lib/docker/999.999"}, Setting: "agent", Warnings: []string{"w"}}), nil
		},
		"unreachable": func() (fleet.Outcome, error) {
			return report.StatusRow(remap.Status{DaemonError: "connection refused"}), nil
		},
		"doctor": func() (fleet.Outcome, error) {
			return report.DoctorRow(doctorFindings())
		},
	}
	names := []string{"enabled", "reverted", "failed", "status", "unreachable", "doctor"}
	var out, errOut bytes.Buffer
	dockerCLI, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	err = writeRows(dockerCLI, "enable", fleet.Options{Canary: 0, Parallel: len(names)}, names, rows)
	if want := "enable: 6 hosts: 1 enabled, 1 reverted (failed), 1 failed, 1 remapping on, 1 unreachable, 1 FAIL (failed)"; err == nil || err.Error() != want {
		t.Errorf("rollout error %v", err)
	}
	golden.Assert(t, out.String(), "fleet.golden")
}
