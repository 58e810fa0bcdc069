package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// changeOptions are what enable and disable share: which hosts, how to
// reach their files, how the daemon restarts, and how to print.
type changeOptions struct {
	action  string // "enable" or "disable"
	root    string
	call    helper.Call // the command as given, for a helper container
	restart restartOptions
	host    hostOptions
	keep    keepOptions
	format  string
}

// restartOptions are the flags of the commands that restart the daemon.
type restartOptions struct {
	restart        string
	timeout        time.Duration
	confirmTimeout time.Duration
	pidfile        string
}

// check refuses durations that cannot bound a wait (0 used to mean the
// default without a word, and a negative one was taken).
func (o restartOptions) check() error {
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be above 0", o.timeout)
	}
	if o.confirmTimeout <= 0 {
		return fmt.Errorf("--confirm-timeout %s: must be above 0", o.confirmTimeout)
	}
	return nil
}

// addChangeFlags adds the flags enable and disable share: the restart,
// the hosts (with the rollout's), --keep-*, --format, and --dry-run and
// --discard-pending, which remap keeps in each one's own options.
func addChangeFlags(flags *pflag.FlagSet, opts *changeOptions, dryRun, discardPending *bool) {
	flags.BoolVar(dryRun, "dry-run", false, "Print the change of each file and the restart, change nothing")
	flags.BoolVar(discardPending, "discard-pending", false, "Drop the record of an unfinished change whose host agent is gone (a copy stays beside it) instead of refusing")
	addRestartFlags(flags, &opts.restart)
	addHostFlags(flags, &opts.host, true)
	addKeepFlags(flags, &opts.keep)
	dockerformat.AddFlag(flags, &opts.format)
}

// addRestartFlags adds the flags of the commands that restart the daemon.
func addRestartFlags(flags *pflag.FlagSet, opts *restartOptions) {
	flags.StringVar(&opts.restart, "restart", string(daemon.StrategyAuto), "How to restart the daemon: auto (systemd if it runs docker, else signal), systemd, signal, none")
	flags.DurationVar(&opts.timeout, "timeout", 60*time.Second, "How long to wait for the daemon to answer after a restart")
	flags.DurationVar(&opts.confirmTimeout, "confirm-timeout", remap.DefaultConfirmTimeout, "How long the host waits for this client to confirm the restarted daemon before it reverts by itself")
	flags.StringVar(&opts.pidfile, "pidfile", daemon.DefaultPidfile, "The daemon's pidfile (for --restart signal)")
}

// hostChange is enable or disable made ready for one host: the change of
// its files when they are edited here, and the flags that replace the
// user's when a helper container edits them.
type hostChange struct {
	local     func(context.Context, remap.Env) (remap.Outcome, error)
	overrides map[string]string
	dryRun    bool
	// mapped is how many ids the new map holds at least (0: no limit, the
	// daemon will not remap), for what --keep-* carries.
	mapped uint64
}

// runChange is enable or disable on one host, or a rollout over a fleet
// (--context): prepare makes the change ready for each host, which is then
// made on its files here or through its daemon.
func runChange(ctx context.Context, dockerCLI command.Cli, opts changeOptions, prepare func(context.Context, target, io.Writer) (hostChange, error)) error {
	if err := opts.keep.checkRestart(opts.restart.restart); err != nil {
		return err
	}
	if isTree(opts.root) && (len(opts.keep.images) > 0 || opts.keep.volumes) {
		return errTreeDaemon("--keep-images and --keep-volumes", opts.root)
	}
	ts, err := targets(ctx, dockerCLI, opts.root, opts.host)
	if err != nil {
		return err
	}
	changeOn := func(ctx context.Context, t target, progress io.Writer) (remap.Outcome, error) {
		c, err := prepare(ctx, t, progress)
		if err != nil {
			return remap.Outcome{}, err
		}
		if isTree(opts.root) {
			return changeFiles(ctx, t, opts, c, progress) // nothing to carry: no daemon is asked
		}
		return withCarrying(ctx, t, opts.keep, c, progress, func() (remap.Outcome, error) { return changeFiles(ctx, t, opts, c, progress) })
	}
	if len(opts.host.contexts) == 0 {
		out, err := changeOn(ctx, ts[0], dockerCLI.Err())
		var incomplete *carry.IncompleteError
		if err != nil && !errors.As(err, &incomplete) {
			return err
		}
		write := func() error {
			return dockerformat.Write(dockerCLI.Out(), opts.format, out.Public(), func(w io.Writer) error { return writeOutcome(w, out) })
		}
		if opts.host.armOnly { // a helper container answers its client
			write = func() error { return remap.WriteWire(dockerCLI.Out(), out) }
		}
		if werr := write(); werr != nil {
			return werr
		}
		return err
	}
	return rollout(ctx, dockerCLI, opts.action, ts, opts.host.rollout, opts.format, func(ctx context.Context, t target, progress io.Writer) (fleet.Outcome, error) {
		out, err := changeOn(ctx, t, progress)
		return changeOutcome(out, err, t)
	})
}

// changeFiles makes the change of one host's files: here, or through its
// daemon in a helper container.
func changeFiles(ctx context.Context, t target, opts changeOptions, c hostChange, progress io.Writer) (remap.Outcome, error) {
	if !t.local {
		runner, err := t.runner(opts.host.daemonSocket)
		if err != nil {
			return remap.Outcome{}, err
		}
		return helper.Change(ctx, helper.ChangeOptions{
			Runner:   runner,
			Argv:     changeArgv(opts.call, opts.host.daemonSocket, c.overrides),
			Timeout:  opts.restart.timeout,
			Progress: progress,
		})
	}
	env, err := hostEnv(t, opts.root, opts.restart, opts.host, progress)
	if err != nil {
		return remap.Outcome{}, err
	}
	return c.local(ctx, env)
}

// changeOutcome is an enable or disable on one host of a fleet.
func changeOutcome(out remap.Outcome, err error, t target) (fleet.Outcome, error) {
	where := "local files"
	if !t.local {
		where = "through the daemon"
	}
	var reverted *remap.RevertedError
	switch {
	case errors.As(err, &reverted):
		return fleet.Outcome{Result: string(remap.RolledBack), Message: reverted.Reason + " (" + where + ")"}, err
	case err != nil:
		return fleet.Outcome{}, err
	}
	msg := where
	if out.Remap != "" {
		msg = fmt.Sprintf("userns-remap %q, %s", out.Remap, where)
	}
	if out.Plan != nil {
		msg += "; uid map " + out.Plan.UID.Map.String()
	}
	msg += carriedSummary(out.Carried)
	return fleet.Outcome{Result: string(out.Result), Message: msg}, nil
}

// writeOutcome prints what enable or disable did, for people.
func writeOutcome(w io.Writer, out remap.Outcome) error {
	var b strings.Builder
	switch out.Result {
	case remap.DryRun:
		if out.Diff == "" {
			fmt.Fprintln(&b, "No file would change.")
		} else {
			b.WriteString(out.Diff)
		}
		fmt.Fprintf(&b, "Then: %s.\n", out.Restart)
	case remap.AlreadyEnabled:
		fmt.Fprintln(&b, "Remapping is enabled: nothing written, no restart.")
	case remap.AlreadyDisabled:
		fmt.Fprintln(&b, "Remapping is disabled: nothing written, no restart.")
	default:
		b.WriteString(headline(out))
		for _, f := range out.Files {
			fmt.Fprintf(&b, "  changed  %s\n", f)
		}
		for _, f := range out.Backups {
			fmt.Fprintf(&b, "  backup   %s\n", f)
		}
		for _, c := range out.Checks {
			fmt.Fprintf(&b, "  %-4s     %s: %s\n", passWord(c.OK), c.Name, c.Observed)
		}
	}
	if out.Plan != nil {
		fmt.Fprintf(&b, "Container ids -> host ids: uid %s; gid %s\n", out.Plan.UID.Map, out.Plan.GID.Map)
	}
	for _, u := range out.Unchecked {
		fmt.Fprintf(&b, "Not checked: %s.\n", u)
	}
	writeCarried(&b, out.Carried)
	writeReappeared(&b, out.Reappeared)
	_, err := io.WriteString(w, b.String())
	return err
}

// headline is the first line of a change that was made.
func headline(out remap.Outcome) string {
	setting := ""
	if out.Remap != "" {
		setting = fmt.Sprintf(" (userns-remap %q)", out.Remap)
	}
	switch out.Result {
	case remap.FilesChanged:
		return fmt.Sprintf("Files written%s; %s.\n", setting, out.Restart)
	case remap.ArmedForClient:
		return fmt.Sprintf("Files written%s; the host agent restarts the daemon and waits for a confirmation.\n", setting)
	default: // enabled, disabled, reverted
		return fmt.Sprintf("Remapping %s%s.\n", out.Result, setting)
	}
}

func passWord(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
