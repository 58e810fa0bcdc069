package commands

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/golden"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

func TestKeepOptions(t *testing.T) {
	all := keepOptions{images: []string{allImages}}
	if k, err := all.keep(); err != nil || !k.Images || k.ImageRefs != nil || k.Volumes {
		t.Errorf("--keep-images alone: %+v %v", k, err)
	}
	some := keepOptions{images: []string{"app:1", "db"}, volumes: true}
	if k, err := some.keep(); err != nil || !slices.Equal(k.ImageRefs, []string{"app:1", "db"}) || !k.Volumes {
		t.Errorf("--keep-images=app:1,db --keep-volumes: %+v %v", k, err)
	}
	mixed := keepOptions{images: []string{allImages, "app:1"}}
	if _, err := mixed.keep(); err == nil {
		t.Error("--keep-images with * and a name accepted")
	}
	if k, _ := (keepOptions{}).keep(); k.Any() {
		t.Errorf("nothing to keep: %+v", k)
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
