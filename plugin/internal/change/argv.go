package change

import (
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// helperArgv is the change of one host as a helper container runs it, built
// from the options, not from the flags given: on the host root it mounts,
// stopping once the host agent is armed, answering JSON. What stays with
// the client (the fleet, --via, --keep-*, --for-image) is not part of the
// change, so a new client flag cannot reach a helper by accident;
// --docker-version goes with a tree, which is never changed through a
// daemon (Options.Check).
func helperArgv(opts Options, p prepared) []string {
	var argv []string
	flag := func(name string, value any) { argv = append(argv, fmt.Sprintf("--%s=%v", name, value)) }
	boolFlag := func(name string, on bool) {
		if on {
			flag(name, true)
		}
	}
	var args []string
	if e := p.enable; e != nil {
		argv = append(argv, "enable")
		if e.Layout != "" {
			flag("layout", e.Layout)
		}
		if e.Size != 0 {
			flag("size", e.Size)
		}
		boolFlag("create-user", e.CreateUser)
		boolFlag("force", e.Force)
		boolFlag("dry-run", e.DryRun)
		boolFlag("discard-pending", e.DiscardPending)
		args = []string{e.Spec}
	} else {
		argv = append(argv, "disable")
		boolFlag("remove-ranges", p.disable.RemoveRanges)
		boolFlag("dry-run", p.disable.DryRun)
		boolFlag("discard-pending", p.disable.DiscardPending)
	}
	flag("restart", opts.Restart.Strategy)
	flag("timeout", opts.Restart.Timeout)
	flag("confirm-timeout", opts.Restart.ConfirmTimeout)
	flag("pidfile", opts.Restart.Pidfile)
	flag("root", helper.HostMount)
	flag("via", target.ViaLocal)
	flag("arm-only", true)
	flag("daemon-socket", opts.DaemonSocket)
	flag("format", "json")
	return append(append(argv, "--"), args...)
}
