package commands

import (
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// TestKeepFlagsStayWithTheClient: the client carries through the daemon's
// API before and after the change; a helper container editing the host's
// files never gets --keep-images or --keep-volumes.
func TestKeepFlagsStayWithTheClient(t *testing.T) {
	enable := parsedCommand(t, "enable", "--keep-images", "--keep-volumes", "--via", "daemon")
	got := changeArgv(helperCall(enable, []string{"agent"}), "/run/d.sock", nil)
	for _, arg := range got {
		if strings.HasPrefix(arg, "--keep-") {
			t.Errorf("helper argv %q holds %s", got, arg)
		}
	}
}

func TestKeepOptions(t *testing.T) {
	all := keepOptions{images: []string{allImages}}
	o, err := all.carryOptions(io.Discard)
	if err != nil || !o.Images || o.ImageRefs != nil || o.Volumes || o.Binary == "" {
		t.Errorf("--keep-images alone: %+v %v", o, err)
	}
	some := keepOptions{images: []string{"app:1", "db"}, volumes: true}
	if o, err := some.carryOptions(io.Discard); err != nil || !slices.Equal(o.ImageRefs, []string{"app:1", "db"}) || !o.Volumes {
		t.Errorf("--keep-images=app:1,db --keep-volumes: %+v %v", o, err)
	}
	mixed := keepOptions{images: []string{allImages, "app:1"}}
	if _, err := mixed.carryOptions(io.Discard); err == nil {
		t.Error("--keep-images with * and a name accepted")
	}
	if o, _ := (keepOptions{}).carryOptions(io.Discard); o.Any() {
		t.Errorf("nothing to keep: %+v", o)
	}
	if err := some.checkRestart("none"); err == nil || !strings.Contains(err.Error(), "--restart none") {
		t.Errorf("--restart none: %v", err)
	}
	if err := (keepOptions{}).checkRestart("none"); err != nil {
		t.Errorf("--restart none without keeping: %v", err)
	}
}

// TestWriteKeepGolden: a dry run with --keep-* says how long carrying is
// expected to take; a disable says which data root is in use again and
// what it shows, and, when something made while remapped stays out of
// view, where and how much.
func TestWriteKeepGolden(t *testing.T) {
	disabled := func(r *carry.Reappeared) remap.Outcome {
		return remap.Outcome{Action: "disable", Result: remap.Disabled, Files: []string{"/etc/docker/daemon.json"}, Reappeared: r}
	}
	visible := carry.RootContent{Path: "/var/lib/docker", Images: 2, Containers: 1, Volumes: 1}
	for name, out := range map[string]remap.Outcome{
		"enable-dry-run-expected.golden": {Action: "enable", Result: remap.DryRun, Restart: "signal the daemon",
			Carried: &carry.Report{ExpectedSeconds: int64(math.Ceil(carry.Expect(1_073_741_824, 200_000_000).Seconds())), Items: []carry.Item{
				{Kind: carry.Image, Name: "app:1", Bytes: 1_073_741_824, Result: carry.WouldCarry},
				{Kind: carry.Volume, Name: "pgdata", Bytes: 200_000_000, Files: 812, Result: carry.WouldCarry},
				{Kind: carry.Volume, Name: "shared", Result: carry.LeftAlone, Note: `driver "nfs": only volumes of the local driver are carried`},
			}}},
		"disable-reappeared.golden": disabled(&carry.Reappeared{Visible: visible}),
		"disable-made-while-remapped.golden": disabled(&carry.Reappeared{Visible: visible,
			MadeWhileRemapped: &carry.RootContent{Path: "/var/lib/docker/165536.165536", Images: 1, Containers: 3}}),
	} {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := writeOutcome(&b, out); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, b.String(), name)
		})
	}
}
