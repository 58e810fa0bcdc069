package commands

import (
	"context"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type disableOptions struct {
	remap.DisableOptions
	change changeOptions
}

func newDisableCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	var opts disableOptions
	cmd := &cobra.Command{
		Use:   "disable [OPTIONS]",
		Short: "Turn off remapping and restart the daemon",
		Long: `Turn off user-namespace remapping: remove "userns-remap" from daemon.json,
restart the daemon and check through its API that remapping is off.

A daemon.json that still holds exactly what enable wrote gets its original
bytes back; one edited since loses only the key. A userns-remap value that
daemon.json had before enable --force replaced it goes too (disable turns
remapping off), and is named. The subordinate ranges stay (a later enable
reuses them) unless --remove-ranges is given, which removes the ranges enable
added and nothing else, and puts back those enable --force removed. Lines
others wrote stay. Images and containers made before enable are visible
again; --keep-images and --keep-volumes carry back those made or changed
while remapped (the remapped root keeps its copies).`,
		Example: `  sudo docker userns disable
  sudo docker userns disable --remove-ranges
  sudo docker userns disable --dry-run
  sudo docker userns disable --keep-images --keep-volumes`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.change.root = global.root
			return runDisable(cmd.Context(), dockerCLI, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.RemoveRanges, "remove-ranges", false, "Also remove the /etc/subuid and /etc/subgid ranges enable added")
	addChangeFlags(flags, &opts.change, &opts.DryRun, &opts.DiscardPending)
	return cmd
}

// runDisable turns remapping off, on one host or a fleet.
func runDisable(ctx context.Context, dockerCLI command.Cli, opts disableOptions) error {
	changeOpts, err := opts.change.changeOptions(dockerCLI.Err())
	if err != nil {
		return err
	}
	changeOpts.Disable = &opts.DisableOptions
	return runChange(ctx, dockerCLI, "disable", changeOpts, opts.change.format)
}
