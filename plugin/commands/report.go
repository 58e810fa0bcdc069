package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/report"
)

// reportOptions are what status, doctor and test share: which hosts, how
// to reach their files, and how to print.
type reportOptions struct {
	action string // "status", "doctor" or "test"
	root   string
	host   hostOptions
	format string
}

// addReportFlags adds the flags status, doctor and test share: the hosts
// and --format.
func addReportFlags(flags *pflag.FlagSet, opts *reportOptions) {
	addHostFlags(flags, &opts.host, false)
	dockerformat.AddFlag(flags, &opts.format)
}

// reportOptions maps the flags to the report's options, as given:
// report.Run checks them before any work.
func (o reportOptions) reportOptions(progress io.Writer) report.Options {
	return report.Options{
		Hosts:        o.host.targets(o.root),
		DaemonSocket: o.host.daemonSocket,
		Format:       o.format,
		Progress:     progress,
	}
}

// printer is how a report of type T is printed for people, the error it
// exits with on one host, and what keeps every host's report once all are
// read (test's --junit).
type printer[T any] struct {
	write func(io.Writer, T) error
	exit  func(T) error // nil: exit 0 once printed
	keep  func([]report.Host[T]) error
}

// runReport hands one report to report.Run and prints what comes back:
// one host's report (or what a helper container printed for it), or a
// fleet's table.
func runReport[T report.Report](ctx context.Context, dockerCLI command.Cli, opts reportOptions, ropts report.Options, p printer[T]) error {
	res, err := report.Run[T](ctx, dockerCLI, ropts)
	if err != nil {
		return err
	}
	if res.Printed != nil {
		return printPrinted(dockerCLI, *res.Printed)
	}
	if len(opts.host.contexts) == 0 {
		v := *res.Hosts[0].Value
		if p.keep != nil {
			if err := p.keep(res.Hosts); err != nil {
				return err
			}
		}
		if err := dockerformat.Write(dockerCLI.Out(), opts.format, v, func(w io.Writer) error { return p.write(w, v) }); err != nil {
			return err
		}
		if p.exit == nil {
			return nil
		}
		return p.exit(v)
	}
	err = writeFleet(dockerCLI, opts.action, opts.format, res.Fleet)
	if p.keep != nil {
		if keepErr := p.keep(res.Hosts); keepErr != nil {
			return keepErr
		}
	}
	if err != nil || p.exit == nil {
		return err
	}
	// No host failed; one may still exit non-zero (an incomplete test).
	for _, h := range res.Hosts {
		if h.Value == nil {
			continue
		}
		if err := p.exit(*h.Value); err != nil {
			return fleetExit(h.Name, err)
		}
	}
	return nil
}

// printPrinted prints what a helper container printed for the one host,
// exiting as it exited.
func printPrinted(dockerCLI command.Cli, p report.Printed) error {
	_, _ = io.WriteString(dockerCLI.Out(), p.Stdout)
	_, _ = io.WriteString(dockerCLI.Err(), p.Progress)
	if p.ExitCode == 0 {
		return nil
	}
	return cli.StatusError{StatusCode: p.ExitCode, Status: p.Failure.Error()}
}

// fleetExit is a host's exit error as the fleet's, naming the host.
func fleetExit(host string, err error) error {
	var status cli.StatusError
	if errors.As(err, &status) {
		status.Status = fmt.Sprintf("%s (host %s)", status.Status, host)
		return status
	}
	return fmt.Errorf("host %s: %w", host, err)
}
