package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// rollout runs one command on each host of a fleet (--context), as opts
// orders them (canaries first, then in batches: fleet.RollPrefixed), and
// prints a table of hosts (or JSON).
func rollout(ctx context.Context, dockerCLI command.Cli, action string, ts []target.Target, opts fleet.Options, format string, run func(context.Context, target.Target, io.Writer) (fleet.Outcome, error)) error {
	names := make([]string, len(ts))
	byName := make(map[string]target.Target, len(ts))
	for i, t := range ts {
		names[i], byName[t.Name] = t.Name, t
	}
	results := fleet.RollPrefixed(ctx, names, opts, dockerCLI.Err(), func(ctx context.Context, host string, progress io.Writer) (fleet.Outcome, error) {
		return run(ctx, byName[host], progress)
	})
	return writeFleet(dockerCLI, action, format, results)
}

// writeFleet prints a fleet's results as a table of hosts (or as format
// says), and fails when a host failed.
func writeFleet(dockerCLI command.Cli, action, format string, results []fleet.Result) error {
	if err := dockerformat.Write(dockerCLI.Out(), format, results, func(w io.Writer) error { return fleet.WriteTable(w, results) }); err != nil {
		return err
	}
	if fleet.Failed(results) > 0 {
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("%s: %s", action, fleet.Summary(results))}
	}
	return nil
}
