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
	dockerformat.AddFlag(flags, &opts.format)
}

// report is one kind of report (status, doctor, test) of type T: how it is
// read from a host's files here, printed for people, summed up in a fleet's
// table, and the error it exits with on one host.
type report[T any] struct {
	read func(ctx context.Context, root hostfs.Root, t target) (T, error)
	// through reads a host that is not this machine; nil: the command
	// again in a helper container, decoded from its JSON (one host prints
	// what the helper printed, as it printed it).
	through func(ctx context.Context, t target) (T, error)
	write   func(io.Writer, T) error
	outcome func(T) (fleet.Outcome, error)
	exit    func(T) error // nil: exit 0 once printed
	// keep gets every host's report once all are read (test's --junit);
	// nil: nothing keeps them.
	keep func([]hostReport[T]) error
}

// hostReport is one host's report, or why it has none. Host is "" for the
// one host of a command without --context.
type hostReport[T any] struct {
	host  string
	value *T
	err   error
}

// runReport reads and prints a report of one host, or of every host of a
// fleet (--context): reading changes nothing, so no failure stops the rest
// and every host is read at once (readEveryHost).
func runReport[T any](ctx context.Context, dockerCLI command.Cli, opts reportOptions, r report[T]) error {
	ts, err := reportTargets(ctx, dockerCLI, opts.root, opts.host)
	if err != nil {
		return err
	}
	if len(opts.host.contexts) == 0 && !ts[0].local && r.through == nil {
		return printThroughDaemon(ctx, dockerCLI, ts[0], opts)
	}
	readOn := func(ctx context.Context, t target) (T, error) {
		var v T
		if t.unreachable != nil {
			return v, t.unreachable
		}
		if !t.local {
			if r.through != nil {
				return r.through(ctx, t)
			}
			return v, decodeThroughDaemon(ctx, t, opts, &v)
		}
		root, err := openRoot(opts.root)
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
		if r.keep != nil {
			if err := r.keep([]hostReport[T]{{value: &v}}); err != nil {
				return err
			}
		}
		if err := dockerformat.Write(dockerCLI.Out(), opts.format, v, func(w io.Writer) error { return r.write(w, v) }); err != nil {
			return err
		}
		if r.exit == nil {
			return nil
		}
		return r.exit(v)
	}
	// Each host fills its own element: no lock, and the rollout has ended
	// before they are read.
	reads := make([]hostReport[T], len(ts))
	index := make(map[string]int, len(ts))
	for i, t := range ts {
		index[t.name], reads[i].host = i, t.name
	}
	err = rollout(ctx, dockerCLI, opts.action, ts, readEveryHost(len(ts)), opts.format, func(ctx context.Context, t target, _ io.Writer) (fleet.Outcome, error) {
		v, err := readOn(ctx, t)
		if err != nil {
			reads[index[t.name]].err = err
			return fleet.Outcome{}, err
		}
		reads[index[t.name]].value = &v
		out, err := r.outcome(v)
		out.Detail = v
		return out, err
	})
	if r.keep != nil {
		if keepErr := r.keep(reads); keepErr != nil {
			return keepErr
		}
	}
	if err != nil || r.exit == nil {
		return err
	}
	// No host failed; one may still exit non-zero (an incomplete test).
	for _, h := range reads {
		if h.value == nil {
			continue
		}
		if err := r.exit(*h.value); err != nil {
			return fleetExit(h.host, err)
		}
	}
	return nil
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

// readEveryHost reads n hosts at once: reading changes nothing, so no host
// goes first as a canary.
func readEveryHost(n int) fleet.Options {
	return fleet.Options{NoCanary: true, Parallel: n}
}
