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
	"github.com/docker-userns/docker-userns/plugin/internal/change"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// changeOptions are the flags enable and disable share: which hosts, how
// to reach their files, how the daemon restarts, and how to print.
type changeOptions struct {
	root    string
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

// changeOptions maps the flags to the change's options, as given:
// change.Run checks the values once, before any work (Options.Check).
func (o changeOptions) changeOptions(progress io.Writer) (change.Options, error) {
	keep, err := o.keep.keep()
	if err != nil {
		return change.Options{}, err
	}
	return change.Options{
		Hosts:        o.host.targets(o.root),
		DaemonSocket: o.host.daemonSocket,
		Rollout:      o.host.rollout,
		Restart: change.Restart{
			Strategy:       daemon.Strategy(o.restart.restart),
			Timeout:        o.restart.timeout,
			ConfirmTimeout: o.restart.confirmTimeout,
			Pidfile:        o.restart.pidfile,
		},
		Keep:     keep,
		ArmOnly:  o.host.armOnly,
		Progress: progress,
	}, nil
}

// runChange hands one enable or disable to change.Run and prints what
// comes back: one host's outcome, or a fleet's table.
func runChange(ctx context.Context, dockerCLI command.Cli, action string, opts change.Options, format string) error {
	res, err := change.Run(ctx, dockerCLI, opts)
	if len(opts.Hosts.Contexts) > 0 {
		if err != nil {
			return err
		}
		return writeFleet(dockerCLI, action, format, res.Fleet)
	}
	var incomplete *carry.IncompleteError
	if err != nil && !errors.As(err, &incomplete) {
		return err
	}
	out := res.Outcome
	write := func() error {
		return dockerformat.Write(dockerCLI.Out(), format, out.Public(), func(w io.Writer) error { return writeOutcome(w, out) })
	}
	if opts.ArmOnly { // a helper container answers its client
		write = func() error { return remap.WriteWire(dockerCLI.Out(), out) }
	}
	if werr := write(); werr != nil {
		return werr
	}
	return err
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
