package commands

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// helperFlag is a flag of a report's helper call, built from the
// command's own options (the fleet's, --via, --root and --junit stay with
// the client): none when value is empty.
func helperFlag(name, value string) []helper.Flag {
	if value == "" {
		return nil
	}
	return []helper.Flag{{Name: name, Values: []string{value}}}
}

// reportArgv is a status or doctor in a helper container, on the host root
// it mounts, printing in format.
func reportArgv(call helper.Call, format string) []string {
	return call.Argv(map[string]string{"root": helper.HostMount, "format": format, "via": target.ViaLocal})
}

// printThroughDaemon runs a report command (status, doctor) in a helper
// container on the daemon's host and prints what it printed, in format,
// exiting as it exited.
func printThroughDaemon(ctx context.Context, dockerCLI command.Cli, t target.Target, opts reportOptions) error {
	runner, err := helperOn(t, opts.host.daemonSocket)
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
func decodeThroughDaemon(ctx context.Context, t target.Target, opts reportOptions, v any) error {
	runner, err := helperOn(t, opts.host.daemonSocket)
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

// onOrEmpty is a bool flag's value for helperFlag: "true", or none.
func onOrEmpty(on bool) string {
	if on {
		return "true"
	}
	return ""
}
