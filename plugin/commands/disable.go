package commands

import (
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type disableOptions struct {
	remap.DisableOptions
	restart restartOptions
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := hostEnv(dockerCLI, global, opts.restart)
			if err != nil {
				return err
			}
			out, err := remap.Disable(cmd.Context(), env, opts.DisableOptions)
			if err != nil {
				return err
			}
			return writeFormatted(dockerCLI.Out(), opts.format, out, func(w io.Writer) error { return writeOutcome(w, out) })
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.RemoveRanges, "remove-ranges", false, "Also remove the /etc/subuid and /etc/subgid ranges enable added")
	flags.BoolVar(&opts.DryRun, "dry-run", false, "Print the change of each file and the restart, change nothing")
	addRestartFlags(flags, &opts.restart)
	addFormatFlag(flags, &opts.format)
	return cmd
}
