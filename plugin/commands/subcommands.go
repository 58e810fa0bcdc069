package commands

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// subcommands lists every subcommand; each lives in its own file.
func subcommands(dockerCLI command.Cli, global *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newEnableCommand(dockerCLI, global),
		newDisableCommand(dockerCLI, global),
		newStatusCommand(dockerCLI, global),
		newDoctorCommand(dockerCLI, global),
		newCheckImageCommand(dockerCLI, global),
		newTestCommand(dockerCLI, global),
		newVersionCommand(dockerCLI),
	}
}
