// Command docker-userns is the `docker userns` CLI plugin. It also runs
// standalone (`docker-userns enable agent`), as buildx does.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/spf13/cobra"

	dockeruserns "github.com/docker-userns/docker-userns"
	"github.com/docker-userns/docker-userns/plugin/commands"
	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	// Answers the docker CLI's metadata call before the rest is initialised.
	_ "github.com/docker-userns/docker-userns/plugin/internal/metadatacall"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// internalCommands are this binary's other roles, chosen by the first
// argument before any docker CLI set-up: they run where there is no docker
// CLI, config or daemon to set up.
var internalCommands = map[string]func(args []string) int{
	// Inside a probe container.
	probe.Command: func(args []string) int { return probe.Main(args, os.Stdout, os.Stderr) },
	// On the host, detached: restart, wait for a confirmation, or revert.
	hostagent.Command: hostagent.Main,
	// In a helper container: confirm, revert or ask the host agent.
	remap.ControlCommand: func(args []string) int {
		return remap.ControlMain(args, helper.Self(os.Getenv), os.Stdin, os.Stdout, os.Stderr)
	},
	// In a carry container: scan or copy volumes.
	carry.Command: func(args []string) int { return carry.Main(args, os.Stdout, os.Stderr) },
}

func main() {
	if len(os.Args) > 1 {
		if run, ok := internalCommands[os.Args[1]]; ok {
			os.Exit(run(os.Args[2:]))
		}
	}
	if plugin.RunningStandalone() && !isMetadataCall() {
		os.Exit(runStandalone())
	}
	plugin.Run(func(c command.Cli) *cobra.Command { return withInterrupt(commands.NewRootCommand(c)) }, dockeruserns.PluginMetadata())
}

// withInterrupt gives the commands a context that Ctrl-C (or SIGTERM)
// cancels, instead of killing the process: a client waiting on a restart
// then asks the host agent to revert and says so. Under the docker CLI the
// plugin runs in its own process group and the CLI cancels the context
// through its socket; run standalone, the signal comes here.
//
// Only the first signal is caught: once the context is cancelled the
// signals get their default action back, so a second Ctrl-C or SIGTERM
// ends a command that is stuck in something the context cannot stop.
func withInterrupt(root *cobra.Command) *cobra.Command {
	ctx, cancel := context.WithCancel(context.Background())
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-caught
		signal.Stop(caught) // before the cancel that callers see
		cancel()
	}()
	// Standalone, the root is what runs, and its subcommands inherit this.
	root.SetContext(ctx)
	// As a plugin, the CLI framework runs a root of its own around this
	// one: the subcommand gets the context before the framework's
	// PersistentPreRunE derives its own (cancelled through the CLI's
	// socket) from it.
	if pre := root.PersistentPreRunE; pre != nil {
		root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
			cmd.SetContext(ctx)
			return pre(cmd, args)
		}
	}
	return root
}

// isMetadataCall keeps `docker-userns docker-cli-plugin-metadata` answering
// like a plugin even when run by hand, so the docker CLI and tests agree.
// The CLI's own call (that argument alone) never gets here: metadatacall
// answers it from its init.
func isMetadataCall() bool {
	return len(os.Args) > 1 && os.Args[1] == "docker-cli-plugin-metadata"
}

func runStandalone() int {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	clientOpts := cliflags.NewClientOptions()
	root := withInterrupt(commands.NewStandaloneRootCommand(dockerCLI, func(cmd *cobra.Command, _ []string) error {
		// Without the defaults (TLS only when asked), the client would look
		// for ~/.docker/ca.pem and never reach a unix socket.
		clientOpts.SetDefaultOptions(cmd.Root().PersistentFlags())
		return dockerCLI.Initialize(clientOpts)
	}))
	root.Use = "docker-userns"
	clientOpts.InstallFlags(root.PersistentFlags())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(dockerCLI.Err(), err)
		return commands.ExitCode(err)
	}
	return 0
}
