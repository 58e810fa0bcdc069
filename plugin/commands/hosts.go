package commands

import (
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// hostOptions are the flags of the commands that act on a daemon's host:
// which hosts (--context, a fleet), and how to reach their files.
type hostOptions struct {
	via          string
	daemonSocket string
	contexts     []string
	rollout      fleet.Options
	// armOnly is set inside a helper container: stop once the host agent
	// is armed and hand the rest to the client.
	armOnly bool
}

// A command that changes hosts (rolling) also gets the rollout flags.
func addHostFlags(flags *pflag.FlagSet, opts *hostOptions, rolling bool) {
	flags.StringVar(&opts.via, "via", target.ViaAuto, `Where to edit the host: "local" (this machine), "daemon" (a helper container started through the daemon's API), "auto" (local when the daemon runs here)`)
	flags.StringVar(&opts.daemonSocket, "daemon-socket", remap.DefaultSocket, "The daemon's unix socket on its host (where a helper and the host agent reach it)")
	flags.StringArrayVar(&opts.contexts, "context", nil, "Run on the host of this Docker context; repeat for a fleet")
	if !rolling {
		return
	}
	flags.IntVar(&opts.rollout.Canary, "canary", 1, "With --context: hosts done one by one before the rest")
	flags.IntVar(&opts.rollout.Parallel, "parallel", 4, "With --context: hosts done at once after the canaries")
	flags.IntVar(&opts.rollout.MaxFailures, "max-failures", 1, "With --context: stop starting hosts once this many failed (0: never stop)")
	flags.BoolVar(&opts.armOnly, "arm-only", false, "")
	_ = flags.MarkHidden("arm-only")
}

// targets are the hosts the flags name, their files under root.
func (o hostOptions) targets(root string) target.Options {
	return target.Options{Root: root, Via: o.via, Contexts: o.contexts}
}
