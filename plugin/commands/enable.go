package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

type enableOptions struct {
	remap.EnableOptions
	size      string
	forImages []string
	restart   restartOptions
	host      hostOptions
	format    string
}

func newEnableCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	var opts enableOptions
	cmd := &cobra.Command{
		Use:   "enable [OPTIONS] USER[:GROUP] | default",
		Short: "Turn on remapping: container root becomes USER on the host",
		Long: `Turn on user-namespace remapping so that root in every container is USER on
the host (the owner layout), and every other container id lands on a range of
host ids that belongs to nobody.

enable adds USER's ranges to /etc/subuid and /etc/subgid, sets "userns-remap"
in daemon.json (other keys stay as they are), restarts the daemon, and checks
through the daemon's API and a probe container that the daemon maps ids as
planned. If the daemon does not come back or maps otherwise, every file is
restored from its backup and the daemon restarted with its old config.

Layouts:
  owner       USER:UID:1 first, then a free range: container root is USER (default for a user)
  contiguous  USER:UID:SIZE: container uid 1 is host uid UID+1, maybe a real user
  isolated    one free range: container root is an unused id (default for "default")

Images and containers made before remapping are not visible while it is on
(the daemon uses <data-root>/<uid>.<gid>); they come back after disable.`,
		Example: `  sudo docker userns enable agent
  sudo docker userns enable --dry-run agent
  sudo docker userns enable --size 200000 agent
  sudo docker userns enable --size auto --for-image registry.example.com/app:1.2 agent
  sudo docker userns enable --create-user ci:ci
  sudo docker userns enable default`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if err := opts.restart.check(); err != nil {
				return err
			}
			if len(opts.forImages) > 0 && opts.size != "auto" {
				return errors.New("--for-image goes with --size auto")
			}
			if opts.size != "auto" && cmd.Flags().Changed("size") {
				size, err := rangeplan.ParseSize(opts.size)
				if err != nil {
					return err
				}
				opts.Size = size
			}
			ts, err := targets(dockerCLI, global, opts.host)
			if err != nil {
				return err
			}
			run := func(ctx context.Context, t target, progress io.Writer) (remap.Outcome, error) {
				return enableOn(ctx, cmd, args, t, global, opts, progress)
			}
			if len(opts.host.contexts) == 0 {
				out, err := run(cmd.Context(), ts[0], dockerCLI.Err())
				if err != nil {
					return err
				}
				return writeFormatted(dockerCLI.Out(), opts.format, out, func(w io.Writer) error { return writeOutcome(w, out) })
			}
			return rollout(cmd.Context(), dockerCLI, "enable", ts, opts.host, opts.format, func(ctx context.Context, t target, progress io.Writer) (fleet.Outcome, error) {
				out, err := run(ctx, t, progress)
				return changeOutcome(out, err, t)
			})
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.Layout, "layout", "", "How container ids land on host ids: owner, contiguous or isolated")
	flags.StringVar(&opts.size, "size", fmt.Sprint(rangeplan.DefaultSize), `How many container ids to map (images with higher uids need more); "auto" sizes for the images`)
	flags.StringSliceVar(&opts.forImages, "for-image", nil, "With --size auto: the images to size for (default: every image in the daemon)")
	flags.BoolVar(&opts.CreateUser, "create-user", false, "Create USER (and its group) as a system user when missing")
	flags.BoolVar(&opts.Force, "force", false, "Replace another userns-remap setting; accept a contiguous range over host users")
	flags.BoolVar(&opts.DryRun, "dry-run", false, "Print the change of each file and the restart, change nothing")
	addRestartFlags(flags, &opts.restart)
	addHostFlags(flags, &opts.host, true)
	addFormatFlag(flags, &opts.format)
	return cmd
}

// enableOn enables remapping on one host: on its files here, or through
// its daemon.
func enableOn(ctx context.Context, cmd *cobra.Command, args []string, t target, global *globalOptions, opts enableOptions, progress io.Writer) (remap.Outcome, error) {
	o := opts.EnableOptions
	if opts.size == "auto" {
		size, err := sizeForImages(ctx, t.cli, opts.forImages, progress)
		if err != nil {
			return remap.Outcome{}, err
		}
		o.Size = size
	}
	if !t.local {
		// The helper gets the size found here, not the images to scan.
		over := map[string]string{}
		if opts.size == "auto" {
			over["size"], over["for-image"] = fmt.Sprint(o.Size), ""
		}
		return changeThroughDaemon(ctx, cmd, args, t, opts.host, opts.restart.timeout, progress, over)
	}
	env, err := hostEnv(t, global, opts.restart, opts.host, progress)
	if err != nil {
		return remap.Outcome{}, err
	}
	return remap.Enable(ctx, env, o)
}

// addRestartFlags adds the flags of the commands that restart the daemon.
func addRestartFlags(flags *pflag.FlagSet, opts *restartOptions) {
	flags.StringVar(&opts.restart, "restart", string(daemon.StrategyAuto), "How to restart the daemon: auto (systemd if it runs docker, else signal), systemd, signal, none")
	flags.DurationVar(&opts.timeout, "timeout", 60*time.Second, "How long to wait for the daemon to answer after a restart")
	flags.DurationVar(&opts.confirmTimeout, "confirm-timeout", remap.DefaultConfirmTimeout, "How long the host waits for this client to confirm the restarted daemon before it reverts by itself")
	flags.StringVar(&opts.pidfile, "pidfile", daemon.DefaultPidfile, "The daemon's pidfile (for --restart signal)")
}

// sizeForImages scans images (every image in the daemon when none is named)
// for the highest uid and gid and returns a size that maps them all.
func sizeForImages(ctx context.Context, dockerCLI command.Cli, refs []string, progress io.Writer) (uint32, error) {
	scanner := &imagescan.Scanner{Daemon: dockerCLI.Client(), Keychain: imagescan.CLIKeychain(dockerCLI.ConfigFile())}
	size, images, err := imagescan.SizeFor(ctx, scanner, refs, imagescan.SourceAuto)
	if err != nil {
		return 0, fmt.Errorf("size for images: %w", err)
	}
	if size == 0 || size >= subid.MaxID {
		return 0, fmt.Errorf("size for images: an image holds an id no range can map")
	}
	fmt.Fprintf(progress, "--size auto: %d ids map the highest uid and gid of %d image(s)\n", size, len(images))
	return uint32(size), nil
}

// writeOutcome prints what enable or disable did, for people.
func writeOutcome(w io.Writer, out remap.Outcome) error {
	var b strings.Builder
	switch out.Result {
	case "dry run":
		if out.Diff == "" {
			fmt.Fprintln(&b, "No file would change.")
		} else {
			b.WriteString(out.Diff)
		}
		fmt.Fprintf(&b, "Then: %s.\n", out.Restart)
	case "already enabled", "already disabled":
		fmt.Fprintf(&b, "Remapping is %s: nothing written, no restart.\n", strings.TrimPrefix(out.Result, "already "))
	default:
		fmt.Fprintf(&b, "Remapping %s", out.Result)
		if out.Remap != "" {
			fmt.Fprintf(&b, " (userns-remap %q)", out.Remap)
		}
		b.WriteString(".\n")
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
	_, err := io.WriteString(w, b.String())
	return err
}

func passWord(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
