package remap

import (
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
)

// CarryEnd is how the change ended, for what --keep-images and
// --keep-volumes carry across it (carry.Around.After): into the new map
// after enable, back to host ids after disable, nothing when the data
// root stayed.
func (o Outcome) CarryEnd() carry.End {
	switch o.Result {
	case DryRun:
		return carry.End{DryRun: true}
	case Enabled:
		return carry.End{Switched: true, UID: o.Plan.UID.Map, GID: o.Plan.GID.Map}
	case Disabled:
		return carry.End{Switched: true, UID: idmap.Identity, GID: idmap.Identity, Unremapped: true}
	}
	return carry.End{Unchanged: fmt.Sprintf("%s: the data root did not change", o.Result)}
}
