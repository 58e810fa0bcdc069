package remap

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// The two goldens were written by the code in which Outcome was the
// public JSON and the wire format at once (its --format json): both keep
// those bytes.

// TestPublicOutcomeGolden: enable's and disable's --format json.
func TestPublicOutcomeGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := dockerformat.Write(&buf, "json", fullOutcome().Public(), nil); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, buf.String(), "outcome-public.golden")
}

// TestWireOutcomeGolden: a helper container's answer to its client, and
// the client reads back every field of it.
func TestWireOutcomeGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteWire(&buf, fullOutcome()); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, buf.String(), "outcome-wire.golden")
	back, err := ReadWire(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if want := fullOutcome(); !reflect.DeepEqual(back, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", back, want)
	}
}

// fullOutcome sets every field of an Outcome, with characters an HTML
// escape would change ("->", "<"), so that a golden file shows each key.
func fullOutcome() Outcome {
	m := idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}
	plan := &rangeplan.Plan{
		Layout: rangeplan.Layout("owner"), User: "agent",
		UID: rangeplan.Side{File: SubUIDPath, Map: m, Root: 999, Size: 65536},
		GID: rangeplan.Side{File: SubGIDPath, Map: m, Root: 999, Size: 65536},
	}
	content := carry.RootContent{Path: "/var/lib/docker", Images: 2, Containers: 1, Volumes: 3}
	return Outcome{
		Action: "enable", Result: ArmedForClient, Changed: true, Remap: "agent", Plan: plan,
		Files:   []string{SubUIDPath, "/etc/docker/daemon.json"},
		Diff:    "--- a\n+++ b\n-x <old>\n+y -> new\n",
		Restart: "systemctl restart docker",
		Checks:  verify.Report{{Name: "uid_map", OK: true, Expected: "0 999 1", Observed: "0 999 1"}},
		Backups: []string{"/etc/subuid.docker-userns.bak"},
		Daemon:  &daemon.State{Version: "28.5.2", Remapped: true, DataRoot: "/var/lib/docker/999.999"},
		Removed: []string{"agent:100000:65536"},
		Work: &RunningWork{From: "/var/lib/docker", To: "/var/lib/docker/999.999", Images: 2, Containers: 1,
			Running: []string{"web"}, RestartPolicy: []string{"web"}, LiveRestore: true},
		MapChange: &MapChange{DataRoot: "/var/lib/docker/999.999", OldUIDs: m, NewUIDs: m, OldGIDs: m, NewGIDs: m, Holds: content},
		Pending: &Pending{Token: "0123456789abcdef", Expect: verify.Expectation{Remapped: true, RootUID: 999, RootGID: 999, UIDMap: m, GIDMap: m},
			LogPath: "/var/log/docker.log", Files: []string{SubUIDPath}, ConfirmTimeout: time.Minute},
		Carried:    &carry.Report{Note: "nothing to carry", ExpectedSeconds: 4},
		Unchecked:  []string{"the daemon of a tree is not asked"},
		ImageStore: &StoreSwitch{Now: "containerd", After: "a graphdriver", Remapping: "on", Version: "29.1.0"},
		Reappeared: &carry.Reappeared{Visible: content},
	}
}
