package remap

import (
	"fmt"
	"reflect"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
)

// treeUnchecked is what enable cannot check in a tree (--root DIR that is
// not this machine's root): its daemon is not asked and nothing of it runs.
var treeUnchecked = []string{
	"the daemon's images, containers and image store: a tree's daemon is not asked",
}

// defaultDataRoot is dockerd's data root unless daemon.json sets another.
const defaultDataRoot = "/var/lib/docker"

// treeDataRoot is the data root a tree's daemon will use, from its
// daemon.json (a --data-root flag in its units is not read here).
func treeDataRoot(snap *Snapshot) string {
	if v, set, err := snap.DaemonJSON.String("data-root"); err == nil && set && v != "" {
		return v
	}
	return defaultDataRoot
}

// treeVersion is the Docker version of a tree's daemon: the one given
// (--docker-version), else the one installed in the tree
// (daemon.Installed); "" when neither says.
func treeVersion(env Env, given string) (string, error) {
	if given != "" {
		if _, ok := daemon.MajorVersion(given); !ok {
			return "", fmt.Errorf("--docker-version %q: want a Docker version such as 28.5.2", given)
		}
		env.say("planning for Docker %s (--docker-version)", given)
		return given, nil
	}
	if v, ok := daemon.Installed(env.Root); ok {
		env.say("planning for Docker %s, as %s says", v.Version, v.Source)
		return v.Version, nil
	}
	return "", nil
}

// planFor plans req under each rule; with more than one (a tree whose
// version is unknown) the plans must agree: the files are then read alike
// by every Docker version.
func planFor(env Env, req rangeplan.Request, rules []idmap.Rule, snap *Snapshot, ident remapspec.Identity) (rangeplan.Plan, error) {
	var first rangeplan.Plan
	for i, rule := range rules {
		req.Rule = rule
		// Ranges an earlier enable added (say, narrower) are replaced, not
		// extended, and without --force: they are ours, not the operator's.
		if state, stateErr := hostchange.LoadState(env.Root); stateErr == nil && req.Layout != rangeplan.Contiguous {
			req.Replace = ownsAllRanges(state, snap, rule, ident)
		}
		plan, err := rangeplan.Make(req)
		if err != nil {
			return plan, err
		}
		if i == 0 {
			first = plan
			continue
		}
		if !reflect.DeepEqual(plan, first) {
			return first, fmt.Errorf("the Docker version in %s is unknown (no docker.io, docker-ce or moby-engine in /var/lib/dpkg/status, no version in its dockerd's build info), and %s and %s read %s's ranges differently: pass --docker-version",
				env.Root.Dir(), rules[0].Describe(), rule.Describe(), req.User)
		}
	}
	if len(rules) > 1 {
		env.say("planning for every Docker version: the Docker version in %s is unknown, and all read these ranges alike", env.Root.Dir())
	}
	return first, nil
}
