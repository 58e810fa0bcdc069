package remap

import (
	"context"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// leftoverCheck is doctor's view of the probe and helper containers and
// images in the daemon (issue 12 case 12): those of a run now, or left by a
// client that died, which the next command sweeps once older than a run.
// self is the helper running this doctor (through the daemon), which is
// neither; it names its image by ID (probe.Image.Lasting).
func leftoverCheck(ctx context.Context, api client.APIClient, self hostagent.HelperObjects, add addFunc) {
	ls, err := sweep.List(ctx, api)
	if err != nil || len(ls) == 0 {
		return
	}
	var old, young []string
	for _, l := range ls {
		if (l.Kind == "container" && l.Name == self.Container) || (l.Kind == "image" && (l.Name == self.Image || l.ID == self.Image)) {
			continue
		}
		if time.Since(l.Created) >= sweep.RunAge {
			old = append(old, l.String())
		} else {
			young = append(young, l.String())
		}
	}
	if len(old) > 0 {
		add("leftovers", Warn, "left by a docker userns client that died: "+strings.Join(old, "; "),
			"the next docker userns command removes them (or docker rm -f / docker rmi them)")
	}
	if len(young) > 0 {
		add("leftovers", Warn, "in use by a run now, or left by one that died less than "+sweep.RunAge.String()+" ago: "+strings.Join(young, "; "),
			"once no docker userns command runs, the next one after "+sweep.RunAge.String()+" removes them")
	}
}
