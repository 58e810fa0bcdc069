package commands

import (
	"context"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type disableOptions struct {
	remap.DisableOptions
	restart restartOptions
	host    hostOptions
	format  string
}

func newDisableCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	var opts disableOptions
	cmd := &cobra.Command{
		Use:   "disable [OPTIONS]",
		Short: "Turn off remapping and restart the daemon",
		Long: `Turn off user-namespace remapping: remove "userns-remap" from daemon.json,
restart the daemon and check through its API that remapping is off.

A daemon.json that still holds exactly what enable wrote gets its original
bytes back; one edited since loses only the key. The subordinate ranges stay
(a later enable reuses them) unless --remove-ranges is given, which removes
the ranges enable added and nothing else. Images and containers made before
enable are visible again.`,
		Example: `  sudo docker userns disable
  sudo docker userns disable --remove-ranges
  sudo docker userns disable --dry-run`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.restart.check(); err != nil {
				return err
			}
			ts, err := targets(dockerCLI, global, opts.host)
			if err != nil {
				return err
			}
			run := func(ctx context.Context, t target, progress io.Writer) (remap.Outcome, error) {
				if !t.local {
					return changeThroughDaemon(ctx, cmd, args, t, opts.host, opts.restart.timeout, progress, nil)
				}
				env, err := hostEnv(t, global, opts.restart, opts.host, progress)
				if err != nil {
					return remap.Outcome{}, err
				}
				return remap.Disable(ctx, env, opts.DisableOptions)
			}
			if len(opts.host.contexts) == 0 {
				out, err := run(cmd.Context(), ts[0], dockerCLI.Err())
				if err != nil {
					return err
				}
				return writeFormatted(dockerCLI.Out(), opts.format, out, func(w io.Writer) error { return writeOutcome(w, out) })
			}
			return rollout(cmd.Context(), dockerCLI, "disable", ts, opts.host, opts.format, func(ctx context.Context, t target, progress io.Writer) (fleet.Outcome, error) {
				out, err := run(ctx, t, progress)
				return changeOutcome(out, err, t)
			})
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.RemoveRanges, "remove-ranges", false, "Also remove the /etc/subuid and /etc/subgid ranges enable added")
	flags.BoolVar(&opts.DryRun, "dry-run", false, "Print the change of each file and the restart, change nothing")
	addRestartFlags(flags, &opts.restart)
	addHostFlags(flags, &opts.host, true)
	addFormatFlag(flags, &opts.format)
	return cmd
}
