// Package commands is the thin cobra layer of the plugin: each subcommand
// fills its options and calls into packages that know nothing of cobra.
//
// Every subcommand has its own file in docker/cli's shape: an xOptions
// struct, newXCommand, whose RunE only fills the options, and runX(ctx,
// dockerCLI, opts). enable and disable map their flags to one
// change.Options and hand it to change.Run (change.go), which resolves the
// hosts (internal/target), carries, changes and confirms; status, doctor
// and test map theirs to one report.Options and hand it to report.Run
// (runReport, report.go), check-image to report.Images: each reads here,
// through a helper container, or a fleet, and the command prints what comes
// back. hosts.go holds the host flags (--context, --via), rollout.go prints
// a fleet's table; internal/dockerformat prints (--format).
package commands

import (
	"errors"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	dockeruserns "github.com/docker-userns/docker-userns"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	// root is where host paths are looked up: "/" on a real host, a
	// directory tree in tests and image builds.
	root string
}

// NewRootCommand returns the `userns` command with all its subcommands,
// run as a docker CLI plugin.
func NewRootCommand(dockerCLI command.Cli) *cobra.Command {
	// plugin.PersistentPreRunE is set by plugin.Run after this returns:
	// read it when the command runs.
	return NewStandaloneRootCommand(dockerCLI, func(cmd *cobra.Command, args []string) error {
		return plugin.PersistentPreRunE(cmd, args)
	})
}

// NewStandaloneRootCommand is NewRootCommand with initialize setting up
// dockerCLI before any subcommand runs: the plugin framework's, or the
// binary's own flags when it runs standalone.
func NewStandaloneRootCommand(dockerCLI command.Cli, initialize func(*cobra.Command, []string) error) *cobra.Command {
	var global globalOptions
	reportSweep := func(io.Writer) {}
	cmd := &cobra.Command{
		Use:   "userns",
		Short: "Set up, check and undo user-namespace remapping of the Docker daemon",
		Long: `Set up, check and undo user-namespace remapping (userns-remap) of the Docker daemon.

With remapping on, root in a container is an unprivileged user on the host:
files a build writes into a bind mount belong to that user, and a container
that mounts / cannot read what only host root may read.`,
		Example: `  sudo docker userns doctor
  sudo docker userns enable agent
  docker userns status
  sudo docker userns disable`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cli.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := initialize(cmd, args); err != nil {
				return err
			}
			if isCompletion(cmd) {
				return nil
			}
			reportSweep = sweep.Beside(cmd.Context(), sweepAPI(dockerCLI))
			return nil
		},
		PersistentPostRun: func(*cobra.Command, []string) { reportSweep(dockerCLI.Err()) },
		Version:           dockeruserns.Version(),
	}
	cmd.SetVersionTemplate(versionLine())
	cmd.PersistentFlags().StringVar(&global.root, "root", "/", "Look up every host path (passwd, subuid, daemon.json, units, /proc) under this directory")
	cmd.AddCommand(subcommands(dockerCLI, &global)...)
	addFlagCompletions(cmd, dockerCLI, &global)
	return cmd
}

// exitCoder is an error that carries its own exit status (doctor's FAIL, test's failed check).
type exitCoder interface{ ExitCode() int }

// ExitCode maps an error returned by a command to the process exit status.
func ExitCode(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var st cli.StatusError
	if errors.As(err, &st) && st.StatusCode != 0 {
		return st.StatusCode
	}
	return 1
}

// sweepAPI is the client of the sweep every command starts with: to an
// ssh:// daemon one that shares the ssh connection the command's own
// client uses next (overSSH), instead of the CLI's own client, whose first
// use pings and each of whose connections is an ssh login of its own.
func sweepAPI(dockerCLI command.Cli) client.APIClient {
	if c, err := target.CurrentOverSSH(dockerCLI); err == nil {
		return c.Client()
	}
	return dockerCLI.Client()
}
