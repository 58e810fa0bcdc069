package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// Where a command's host part runs (--via).
const (
	viaAuto   = "auto"
	viaLocal  = "local"
	viaDaemon = "daemon"
)

// hostOptions are the flags of the commands that act on a daemon's host:
// which hosts (--context, a fleet), and how to reach their files.
type hostOptions struct {
	via          string
	daemonSocket string
	contexts     []string
	rollout      fleet.Options
	// armOnly is set inside a helper container: stop once the host agent
	// is armed and hand the rest to the client.
	armOnly bool
}

// A command that changes hosts (rolling) also gets the rollout flags.
func addHostFlags(flags *pflag.FlagSet, opts *hostOptions, rolling bool) {
	flags.StringVar(&opts.via, "via", viaAuto, `Where to edit the host: "local" (this machine), "daemon" (a helper container started through the daemon's API), "auto" (local when the daemon runs here)`)
	flags.StringVar(&opts.daemonSocket, "daemon-socket", remap.DefaultSocket, "The daemon's unix socket on its host (where a helper and the host agent reach it)")
	flags.StringArrayVar(&opts.contexts, "context", nil, "Run on the host of this Docker context; repeat for a fleet")
	if !rolling {
		return
	}
	flags.IntVar(&opts.rollout.Canary, "canary", 1, "With --context: hosts done one by one before the rest")
	flags.IntVar(&opts.rollout.Parallel, "parallel", 4, "With --context: hosts done at once after the canaries")
	flags.IntVar(&opts.rollout.MaxFailures, "max-failures", 1, "With --context: stop starting hosts once this many failed (0: never stop)")
	flags.BoolVar(&opts.armOnly, "arm-only", false, "")
	_ = flags.MarkHidden("arm-only")
}

// fleetFlags are the flags that shape a rollout and are not forwarded to a
// helper container.
var fleetFlags = []string{"context", "canary", "parallel", "max-failures", "via"}

// target is one daemon a command acts on.
type target struct {
	name  string // Docker context ("" for the current one)
	cli   command.Cli
	local bool
}

// targets resolves the daemons of a command: the current one, or each --context.
func targets(dockerCLI command.Cli, global *globalOptions, opts hostOptions) ([]target, error) {
	if !slices.Contains([]string{viaAuto, viaLocal, viaDaemon}, opts.via) {
		return nil, fmt.Errorf("invalid --via %q: want auto, local or daemon", opts.via)
	}
	if opts.via == viaDaemon && global.root != "/" {
		return nil, errors.New("--root goes with --via local: through the daemon the host root is the daemon's")
	}
	if len(opts.contexts) == 0 {
		t := target{cli: dockerCLI}
		t.local = isLocal(dockerCLI, global, opts.via)
		return []target{t}, nil
	}
	if err := fleet.CheckHosts(opts.contexts); err != nil {
		return nil, err
	}
	var ts []target
	for _, name := range opts.contexts {
		c, err := command.NewDockerCli(command.WithErrorStream(dockerCLI.Err()), command.WithOutputStream(dockerCLI.Out()))
		if err != nil {
			return nil, err
		}
		clientOpts := cliflags.NewClientOptions()
		clientOpts.Context = name
		if err := c.Initialize(clientOpts); err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		if _, err := c.ContextStore().GetMetadata(name); err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		ts = append(ts, target{name: name, cli: c, local: isLocal(c, global, opts.via)})
	}
	return ts, nil
}

func isLocal(c command.Cli, global *globalOptions, via string) bool {
	switch {
	case via == viaLocal, global.root != "/":
		return true
	case via == viaDaemon:
		return false
	}
	return helper.DaemonIsLocal(c.DockerEndpoint().Host)
}

// socketPath is the daemon's unix socket as this machine reaches it, for
// the host agent of a local change.
func (t target) socketPath(fallback string) string {
	if u, err := url.Parse(t.cli.DockerEndpoint().Host); err == nil && u.Scheme == "unix" {
		return u.Path
	}
	return fallback
}

func (t target) runner(opts hostOptions) (helper.Runner, error) {
	binary, err := probe.SelfBinary()
	if err != nil {
		return helper.Runner{}, err
	}
	return helper.Runner{API: t.cli.Client(), Binary: binary, Socket: opts.daemonSocket}, nil
}

// helperArgs are the arguments that run cmd again in a helper container on
// the daemon's host: the same command, arguments and flags, with the
// overrides (the host root, JSON out, local host part) replacing their flags.
func helperArgs(cmd *cobra.Command, args []string, overrides map[string]string) []string {
	out := []string{cmd.Name()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		// An override replaces the flag; an empty one drops it.
		if _, over := overrides[f.Name]; over || slices.Contains(fleetFlags, f.Name) || f.Name == "root" {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	for _, name := range slices.Sorted(mapKeys(overrides)) {
		if overrides[name] != "" {
			out = append(out, "--"+name+"="+overrides[name])
		}
	}
	return append(append(out, "--"), args...)
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// changeThroughDaemon runs enable or disable in a helper container up to
// the armed host agent, then waits, verifies and confirms from here.
func changeThroughDaemon(ctx context.Context, cmd *cobra.Command, args []string, t target, opts hostOptions, timeout time.Duration, progress io.Writer, overrides map[string]string) (remap.Outcome, error) {
	runner, err := t.runner(opts)
	if err != nil {
		return remap.Outcome{}, err
	}
	fmt.Fprintln(progress, "editing the host's files in a helper container started through the daemon")
	// Opened on the old daemon before the agent is armed: its end is the
	// restart, also where the socket stays open across it (systemd).
	restarted := daemon.WatchRestart(ctx, t.cli.Client())
	defer restarted.Close()
	over := map[string]string{"root": helper.HostMount, "format": "json", "arm-only": "true", "via": viaLocal, "daemon-socket": opts.daemonSocket}
	for k, v := range overrides {
		over[k] = v
	}
	res, err := runner.Run(ctx, helperArgs(cmd, args, over)...)
	if err != nil {
		return remap.Outcome{}, err
	}
	relay(progress, res.Stderr, res.ExitCode != 0)
	var out remap.Outcome
	if strings.TrimSpace(res.Stdout) != "" {
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			return out, fmt.Errorf("read the helper's answer: %w", err)
		}
	}
	if res.ExitCode != 0 {
		return out, helper.Failure(res)
	}
	if out.Pending == nil {
		return out, nil
	}
	client := remap.ClientEnv{API: t.cli.Client(), Binary: runner.Binary, Timeout: timeout, Progress: progress, Control: helper.Control{Runner: runner}, Restart: restarted}
	return remap.Finish(ctx, client, &out)
}

// reportThroughDaemon runs status or doctor in a helper container and
// returns its output as it printed it, in format.
func reportThroughDaemon(ctx context.Context, cmd *cobra.Command, t target, opts hostOptions, format string) (probe.Result, error) {
	runner, err := t.runner(opts)
	if err != nil {
		return probe.Result{}, err
	}
	return runner.Run(ctx, helperArgs(cmd, nil, map[string]string{"root": helper.HostMount, "format": format, "via": viaLocal})...)
}

// relay passes a helper's progress lines on; the last line of a failed run
// is its error, which the caller reports.
func relay(w io.Writer, stderr string, failed bool) {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if failed && len(lines) > 0 {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if l != "" {
			fmt.Fprintln(w, l)
		}
	}
}

// printThroughDaemon runs a report command (status, doctor) in a helper
// container on the daemon's host and prints what it printed, in format,
// exiting as it exited.
func printThroughDaemon(cmd *cobra.Command, dockerCLI command.Cli, t target, opts hostOptions, format string) error {
	res, err := reportThroughDaemon(cmd.Context(), cmd, t, opts, format)
	if err != nil {
		return err
	}
	_, _ = io.WriteString(dockerCLI.Out(), res.Stdout)
	relay(dockerCLI.Err(), res.Stderr, res.ExitCode != 0)
	if res.ExitCode == 0 {
		return nil
	}
	return cli.StatusError{StatusCode: res.ExitCode, Status: helper.Failure(res).Error()}
}

// rollout runs one command on each host of a fleet (--context), canary
// first, then in batches, and prints a table of hosts (or JSON).
func rollout(ctx context.Context, dockerCLI command.Cli, action string, ts []target, opts hostOptions, format string, run func(context.Context, target, io.Writer) (fleet.Outcome, error)) error {
	names := make([]string, len(ts))
	byName := make(map[string]target, len(ts))
	for i, t := range ts {
		names[i], byName[t.name] = t.name, t
	}
	var mu sync.Mutex
	results := fleet.Roll(ctx, names, opts.rollout, func(ctx context.Context, host string) (fleet.Outcome, error) {
		progress := fleet.PrefixWriter(dockerCLI.Err(), host, &mu)
		defer progress.Close()
		return run(ctx, byName[host], progress)
	})
	if err := writeFormatted(dockerCLI.Out(), format, results, func(w io.Writer) error { return fleet.WriteTable(w, results) }); err != nil {
		return err
	}
	if fleet.Failed(results) > 0 {
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("%s: %s", action, fleet.Summary(results))}
	}
	return nil
}

// changeOutcome is an enable or disable on one host of a fleet.
func changeOutcome(out remap.Outcome, err error, t target) (fleet.Outcome, error) {
	where := "local files"
	if !t.local {
		where = "through the daemon"
	}
	var reverted *remap.RevertedError
	switch {
	case errors.As(err, &reverted):
		return fleet.Outcome{Result: "reverted", Message: reverted.Reason + " (" + where + ")"}, err
	case err != nil:
		return fleet.Outcome{}, err
	}
	msg := where
	if out.Remap != "" {
		msg = fmt.Sprintf("userns-remap %q, %s", out.Remap, where)
	}
	if out.Plan != nil {
		msg += "; uid map " + out.Plan.UID.Map.String()
	}
	return fleet.Outcome{Result: out.Result, Message: msg}, nil
}

// reportOn reads a report (status, doctor) of one host: here with the host
// root, or decoded from the JSON a helper container printed on its host.
func reportOn[T any](ctx context.Context, cmd *cobra.Command, t target, global *globalOptions, opts hostOptions, here func(hostfs.Root) (T, error)) (T, error) {
	var v T
	if !t.local {
		return v, decodeThroughDaemon(ctx, cmd, t, opts, &v)
	}
	root, err := hostfs.Open(global.root)
	if err != nil {
		return v, err
	}
	return here(root)
}

// decodeThroughDaemon runs a report command in a helper container and
// decodes its JSON into v.
func decodeThroughDaemon(ctx context.Context, cmd *cobra.Command, t target, opts hostOptions, v any) error {
	res, err := reportThroughDaemon(ctx, cmd, t, opts, "json")
	if err != nil {
		return err
	}
	if strings.TrimSpace(res.Stdout) == "" {
		return helper.Failure(res)
	}
	if err := json.Unmarshal([]byte(res.Stdout), v); err != nil {
		return fmt.Errorf("read the helper's answer: %w", err)
	}
	return nil
}
