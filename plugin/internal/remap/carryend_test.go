package remap

import (
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
)

// TestCarryEnd: enable carries into its new map, disable back to host ids
// (and the unremapped root is in view again), a dry run lists, and any
// other end leaves the data root as it was, saying how the change ended.
func TestCarryEnd(t *testing.T) {
	m := idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}
	plan := &rangeplan.Plan{UID: rangeplan.Side{Map: m}, GID: rangeplan.Side{Map: m}}
	for _, c := range []struct {
		out  Outcome
		want carry.End
	}{
		{Outcome{Result: Enabled, Plan: plan}, carry.End{Switched: true, UID: m, GID: m}},
		{Outcome{Result: Disabled}, carry.End{Switched: true, UID: idmap.Identity, GID: idmap.Identity, Unremapped: true}},
		{Outcome{Result: DryRun, Plan: plan}, carry.End{DryRun: true}},
		{Outcome{Result: ArmedForClient}, carry.End{Unchanged: "armed: the data root did not change"}},
		{Outcome{Result: AlreadyEnabled}, carry.End{Unchanged: "already enabled: the data root did not change"}},
	} {
		got := c.out.CarryEnd()
		if got.DryRun != c.want.DryRun || got.Switched != c.want.Switched || got.Unremapped != c.want.Unremapped || got.Unchanged != c.want.Unchanged ||
			!got.UID.Equal(c.want.UID) || !got.GID.Equal(c.want.GID) {
			t.Errorf("%s: %+v, want %+v", c.out.Result, got, c.want)
		}
	}
}
