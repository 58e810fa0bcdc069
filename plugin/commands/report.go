package commands

import (
	"context"
	"io"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// reportOptions are what status and doctor share: which hosts, how to reach
// their files, and how to print.
type reportOptions struct {
	action string // "status" or "doctor"
	root   string
	call   helper.Call // the command as given, for a helper container
	host   hostOptions
	format string
}

// addReportFlags adds the flags status and doctor share: the hosts and
// --format.
func addReportFlags(flags *pflag.FlagSet, opts *reportOptions) {
	addHostFlags(flags, &opts.host, false)
	addFormatFlag(flags, &opts.format)
}

// report is one kind of report (status, doctor) of type T: how it is read
// from a host's files here, printed for people, summed up in a fleet's
// table, and the error it exits with on one host.
type report[T any] struct {
	read    func(ctx context.Context, root hostfs.Root, t target) (T, error)
	write   func(io.Writer, T) error
	outcome func(T) (fleet.Outcome, error)
	exit    func(T) error // nil: exit 0 once printed
}

// runReport reads and prints a report of one host, or of every host of a
// fleet (--context): reading changes nothing, so no failure stops the rest
// and every host is read at once (readEveryHost). One host reached through
// its daemon prints what the helper container printed, as it printed it.
func runReport[T any](ctx context.Context, dockerCLI command.Cli, opts reportOptions, r report[T]) error {
	ts, err := targets(dockerCLI, opts.root, opts.host)
	if err != nil {
		return err
	}
	if len(opts.host.contexts) == 0 && !ts[0].local {
		return printThroughDaemon(ctx, dockerCLI, ts[0], opts)
	}
	readOn := func(ctx context.Context, t target) (T, error) {
		var v T
		if !t.local {
			return v, decodeThroughDaemon(ctx, t, opts, &v)
		}
		root, err := hostfs.Open(opts.root)
		if err != nil {
			return v, err
		}
		return r.read(ctx, root, t)
	}
	if len(opts.host.contexts) == 0 {
		v, err := readOn(ctx, ts[0])
		if err != nil {
			return err
		}
		if err := writeFormatted(dockerCLI.Out(), opts.format, v, func(w io.Writer) error { return r.write(w, v) }); err != nil {
			return err
		}
		if r.exit == nil {
			return nil
		}
		return r.exit(v)
	}
	return rollout(ctx, dockerCLI, opts.action, ts, readEveryHost(len(ts)), opts.format, func(ctx context.Context, t target, _ io.Writer) (fleet.Outcome, error) {
		v, err := readOn(ctx, t)
		if err != nil {
			return fleet.Outcome{}, err
		}
		return r.outcome(v)
	})
}

// readEveryHost reads n hosts at once: reading changes nothing, so no host
// goes first as a canary.
func readEveryHost(n int) fleet.Options {
	return fleet.Options{NoCanary: true, Parallel: n}
}
