// Package report is status, doctor and test from end to end, below the
// commands, and check-image's reading of each host (Images): it takes one
// Options value, resolves the hosts (target.ForReport), and reads each one
// here, on its files (remap.ReadStatus, remap.Doctor, livecheck.Run), or
// through its daemon in a helper container that runs the same report on
// the host root it mounts; a fleet's hosts are read at once (no canary:
// reading changes nothing). The command prints what comes back.
package report

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// Report is what Run reads of a host: its status, doctor's findings, or
// test's live checks.
type Report interface {
	remap.Status | remap.Findings | livecheck.Report
}

// Options are one status, doctor or test, on one host or a fleet.
type Options struct {
	// Hosts are the daemons to read and how their files are reached.
	Hosts target.Options
	// DaemonSocket is the daemon's unix socket on its host (where a helper
	// reaches it).
	DaemonSocket string
	// Format is how a helper container that reports for the one host
	// prints (Result.Printed): as the command was asked to.
	Format string
	// SkipImages: doctor scans no local image.
	SkipImages bool
	// TempDir is where test makes its bind-mount directories on the
	// daemon's host ("": $TMPDIR or /tmp).
	TempDir string
	// Progress gets a fleet's lines, prefixed with each host.
	Progress io.Writer
}

// Check refuses options that name no host, before any daemon is asked.
func (o Options) Check() error {
	return o.Hosts.Check()
}

// Result is what Run read: the one host's report (Hosts[0], Name ""), or
// a fleet's, each host's report or why it has none (Hosts, in the order
// of Hosts.Contexts) with its row (Fleet). Printed, when set, is the one
// host's report as a helper container printed it.
type Result[T any] struct {
	Hosts   []Host[T]
	Fleet   []fleet.Result
	Printed *Printed
}

// Host is one host's report, or why it has none.
type Host[T any] struct {
	Name  string // the --context; "" for the one host without --context
	Value *T
	Err   error
}

// Printed is a report a helper container printed on the daemon's host:
// the command prints Stdout as is, Progress to its stderr, and exits with
// ExitCode (not 0: Failure says why).
type Printed struct {
	Stdout   string
	Progress string
	ExitCode int
	Failure  error
}

// Run checks opts, resolves the hosts and reads T of each one: the one
// host (an error is its read's), or every host of a fleet at once (a host
// that fails is a row, not an error).
func Run[T Report](ctx context.Context, dockerCLI command.Cli, opts Options) (Result[T], error) {
	if err := opts.Check(); err != nil {
		return Result[T]{}, err
	}
	return run(ctx, dockerCLI, opts, kindOf[T](opts))
}

// kind is how one kind of report of type T is read: on a host's files
// here, through its daemon, and summed up in a fleet's row.
type kind[T any] struct {
	call helper.Call // the report with its own flags, for a helper container
	read func(ctx context.Context, root hostfs.Root, t target.Target) (T, error)
	// through reads a host that is not this machine; nil: the report again
	// in a helper container, decoded from its JSON (the one host prints what
	// the helper printed, as it printed it: Result.Printed).
	through func(ctx context.Context, t target.Target) (T, error)
	row     func(T) (fleet.Outcome, error)
}

func kindOf[T Report](opts Options) kind[T] {
	var k any
	switch any(*new(T)).(type) {
	case remap.Status:
		k = statusKind
	case remap.Findings:
		k = doctorKind(opts)
	case livecheck.Report:
		k = testKind(opts)
	}
	return k.(kind[T])
}

var statusKind = kind[remap.Status]{
	call: helper.Call{Command: "status"},
	read: func(ctx context.Context, root hostfs.Root, t target.Target) (remap.Status, error) {
		st, _, err := remap.ReadStatus(ctx, root, helper.DaemonFor(root, t.CLI.Client()))
		return st, err
	},
	row: func(st remap.Status) (fleet.Outcome, error) { return StatusRow(st), nil },
}

func doctorKind(opts Options) kind[remap.Findings] {
	return kind[remap.Findings]{
		call: helper.Call{Command: "doctor", Flags: helperFlag("skip-images", onOrEmpty(opts.SkipImages))},
		read: func(ctx context.Context, root hostfs.Root, t target.Target) (remap.Findings, error) {
			return remap.Doctor(ctx, root, helper.DaemonFor(root, t.CLI.Client()), remap.DoctorOptions{
				Self:       helper.Self(os.Getenv),
				SkipImages: opts.SkipImages,
			}), nil
		},
		row: DoctorRow,
	}
}

func testKind(opts Options) kind[livecheck.Report] {
	k := kind[livecheck.Report]{
		call: helper.Call{Command: "test", Flags: helperFlag("tmpdir", opts.TempDir)},
		read: func(ctx context.Context, root hostfs.Root, t target.Target) (livecheck.Report, error) {
			return liveCheck(ctx, t, root, opts.TempDir, "")
		},
		row: TestRow,
	}
	k.through = func(ctx context.Context, t target.Target) (livecheck.Report, error) {
		return testThroughDaemon(ctx, t, opts, k.call)
	}
	return k
}

func run[T any](ctx context.Context, dockerCLI command.Cli, opts Options, k kind[T]) (Result[T], error) {
	ts, err := target.ForReport(ctx, dockerCLI, opts.Hosts)
	if err != nil {
		return Result[T]{}, err
	}
	one := len(opts.Hosts.Contexts) == 0
	if one && !ts[0].Local && k.through == nil {
		printed, err := printThroughDaemon(ctx, ts[0], opts, k.call)
		if err != nil {
			return Result[T]{}, err
		}
		return Result[T]{Printed: &printed}, nil
	}
	readOn := func(ctx context.Context, t target.Target) (T, error) {
		var v T
		if t.Unreachable != nil {
			return v, t.Unreachable
		}
		if !t.Local {
			if k.through != nil {
				return k.through(ctx, t)
			}
			return v, decodeThroughDaemon(ctx, t, opts.DaemonSocket, k.call, &v)
		}
		root, err := helper.OpenRoot(opts.Hosts.Root)
		if err != nil {
			return v, err
		}
		return k.read(ctx, root, t)
	}
	if one {
		v, err := readOn(ctx, ts[0])
		if err != nil {
			return Result[T]{}, err
		}
		return Result[T]{Hosts: []Host[T]{{Value: &v}}}, nil
	}
	// Each host fills its own element: no lock, and the fleet has ended
	// before they are read.
	hosts := make([]Host[T], len(ts))
	rows := everyHost(ctx, ts, opts.Progress, func(ctx context.Context, i int, t target.Target) (fleet.Outcome, error) {
		hosts[i].Name = t.Name
		v, err := readOn(ctx, t)
		if err != nil {
			hosts[i].Err = err
			return fleet.Outcome{}, err
		}
		hosts[i].Value = &v
		out, err := k.row(v)
		out.Detail = v
		return out, err
	})
	return Result[T]{Hosts: hosts, Fleet: rows}, nil
}

// everyHost reads every host of a fleet at once: reading changes
// nothing, so no host goes first as a canary. read gets each host with its
// index in ts.
func everyHost(ctx context.Context, ts []target.Target, progress io.Writer, read func(context.Context, int, target.Target) (fleet.Outcome, error)) []fleet.Result {
	names := make([]string, len(ts))
	index := make(map[string]int, len(ts))
	for i, t := range ts {
		names[i], index[t.Name] = t.Name, i
	}
	return fleet.RollPrefixed(ctx, names, fleet.Options{NoCanary: true, Parallel: len(ts)}, progress, func(ctx context.Context, host string, _ io.Writer) (fleet.Outcome, error) {
		i := index[host]
		return read(ctx, i, ts[i])
	})
}

// liveCheck runs the checks against t's daemon, the host part here: on the
// daemon's host, or in a helper container mounting it.
func liveCheck(ctx context.Context, t target.Target, root hostfs.Root, tempDir, noHostFiles string) (livecheck.Report, error) {
	binary, err := probe.SelfBinary()
	if err != nil {
		return livecheck.Report{}, err
	}
	env := livecheck.Env{API: t.CLI.Client(), Root: root, Binary: binary, TempDir: tempDir, NoHostFiles: noHostFiles}
	if helper.Inside(os.Getenv) {
		env.HostRoot = helper.HostMount
	}
	return livecheck.Run(ctx, env)
}

// testThroughDaemon runs the test in a helper container on the daemon's
// host. When no helper answers, the checks run from here without the host's
// files: those that need them are reported as such, and the run is
// incomplete.
func testThroughDaemon(ctx context.Context, t target.Target, opts Options, call helper.Call) (livecheck.Report, error) {
	var rep livecheck.Report
	err := decodeThroughDaemon(ctx, t, opts.DaemonSocket, call, &rep)
	if err == nil || ctx.Err() != nil {
		return rep, err
	}
	why := fmt.Sprintf("the helper container that reads them through the daemon did not run (%v)", err)
	return liveCheck(ctx, t, hostfs.Root{}, "", why)
}
