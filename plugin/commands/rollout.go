package commands

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
)

// rollout runs one command on each host of a fleet (--context), as opts
// orders them (canaries first, then in batches), and prints a table of
// hosts (or JSON).
func rollout(ctx context.Context, dockerCLI command.Cli, action string, ts []target, opts fleet.Options, format string, run func(context.Context, target, io.Writer) (fleet.Outcome, error)) error {
	names := make([]string, len(ts))
	byName := make(map[string]target, len(ts))
	for i, t := range ts {
		names[i], byName[t.name] = t.name, t
	}
	var mu sync.Mutex
	results := fleet.Roll(ctx, names, opts, func(ctx context.Context, host string) (fleet.Outcome, error) {
		progress := fleet.PrefixWriter(dockerCLI.Err(), host, &mu)
		defer progress.Close()
		return run(ctx, byName[host], progress)
	})
	if err := dockerformat.Write(dockerCLI.Out(), format, results, func(w io.Writer) error { return fleet.WriteTable(w, results) }); err != nil {
		return err
	}
	if fleet.Failed(results) > 0 {
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("%s: %s", action, fleet.Summary(results))}
	}
	return nil
}
