package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// helperFlag is a flag of a report's helper call, built from the report's
// own options (the fleet's, --via, --root and --junit stay with the
// client): none when value is empty.
func helperFlag(name, value string) []helper.Flag {
	if value == "" {
		return nil
	}
	return []helper.Flag{{Name: name, Values: []string{value}}}
}

// onOrEmpty is a bool flag's value for helperFlag: "true", or none.
func onOrEmpty(on bool) string {
	if on {
		return "true"
	}
	return ""
}

// reportArgv is a report in a helper container, on the host root it
// mounts, printing in format.
func reportArgv(call helper.Call, format string) []string {
	return call.Argv(map[string]string{"root": helper.HostMount, "format": format, "via": target.ViaLocal})
}

// helperOn starts helper containers on t's daemon, whose socket on its
// host is daemonSocket.
func helperOn(t target.Target, daemonSocket string) (helper.Runner, error) {
	binary, err := probe.SelfBinary()
	if err != nil {
		return helper.Runner{}, err
	}
	return helper.Runner{API: t.CLI.Client(), Binary: binary, Socket: daemonSocket}, nil
}

// printThroughDaemon runs a report (status, doctor) in a helper container
// on the daemon's host, printing in opts.Format, and gives back what it
// printed and how it exited.
func printThroughDaemon(ctx context.Context, t target.Target, opts Options, call helper.Call) (Printed, error) {
	runner, err := helperOn(t, opts.DaemonSocket)
	if err != nil {
		return Printed{}, err
	}
	res, err := runner.Run(ctx, reportArgv(call, opts.Format)...)
	if err != nil {
		return Printed{}, err
	}
	var progress strings.Builder
	helper.Relay(&progress, res)
	p := Printed{Stdout: res.Stdout, Progress: progress.String(), ExitCode: res.ExitCode}
	if res.ExitCode != 0 {
		p.Failure = helper.Failure(res)
	}
	return p, nil
}

// decodeThroughDaemon runs a report in a helper container and decodes its
// JSON lines into v.
func decodeThroughDaemon(ctx context.Context, t target.Target, daemonSocket string, call helper.Call, v any) error {
	runner, err := helperOn(t, daemonSocket)
	if err != nil {
		return err
	}
	res, err := runner.Run(ctx, reportArgv(call, "json")...)
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
