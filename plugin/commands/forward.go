package commands

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
)

// clientFlags say where a command runs from here (a fleet, --via, --root):
// a helper container never gets them.
// Nor --keep-images and --keep-volumes: the client carries, through the
// daemon's API, before and after the helper's change. Nor test's --junit:
// the client writes it.
var clientFlags = []string{"context", "canary", "parallel", "max-failures", "via", "root", "keep-images", "keep-volumes", "junit"}

// helperCall is cmd as the user gave it, for a helper container on the
// daemon's host to run again: the same command, flags and arguments.
func helperCall(cmd *cobra.Command, args []string) helper.Call {
	call := helper.Call{Command: cmd.Name(), Args: args}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if slices.Contains(clientFlags, f.Name) {
			return
		}
		values := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			values = sv.GetSlice()
		}
		call.Flags = append(call.Flags, helper.Flag{Name: f.Name, Values: values})
	})
	return call
}

// changeArgv is an enable or disable in a helper container: on the host
// root it mounts, stopping once the host agent is armed, answering JSON;
// overrides (enable's size) replace their flags too.
func changeArgv(call helper.Call, daemonSocket string, overrides map[string]string) []string {
	over := map[string]string{"root": helper.HostMount, "format": "json", "arm-only": "true", "via": viaLocal, "daemon-socket": daemonSocket}
	for k, v := range overrides {
		over[k] = v
	}
	return call.Argv(over)
}

// reportArgv is a status or doctor in a helper container, on the host root
// it mounts, printing in format.
func reportArgv(call helper.Call, format string) []string {
	return call.Argv(map[string]string{"root": helper.HostMount, "format": format, "via": viaLocal})
}

// printThroughDaemon runs a report command (status, doctor) in a helper
// container on the daemon's host and prints what it printed, in format,
// exiting as it exited.
func printThroughDaemon(ctx context.Context, dockerCLI command.Cli, t target, opts reportOptions) error {
	runner, err := t.runner(opts.host.daemonSocket)
	if err != nil {
		return err
	}
	res, err := runner.Run(ctx, reportArgv(opts.call, opts.format)...)
	if err != nil {
		return err
	}
	_, _ = io.WriteString(dockerCLI.Out(), res.Stdout)
	helper.Relay(dockerCLI.Err(), res)
	if res.ExitCode == 0 {
		return nil
	}
	return cli.StatusError{StatusCode: res.ExitCode, Status: helper.Failure(res).Error()}
}

// decodeThroughDaemon runs a report command in a helper container and
// decodes its JSON lines into v.
func decodeThroughDaemon(ctx context.Context, t target, opts reportOptions, v any) error {
	runner, err := t.runner(opts.host.daemonSocket)
	if err != nil {
		return err
	}
	res, err := runner.Run(ctx, reportArgv(opts.call, "json")...)
	if err != nil {
		return err
	}
	if strings.TrimSpace(res.Stdout) == "" {
		return helper.Failure(res)
	}
	if err := dockerformat.Read(res.Stdout, v); err != nil {
		return fmt.Errorf("read the helper's answer: %w", err)
	}
	return nil
}
