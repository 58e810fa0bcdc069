package commands

import (
	"fmt"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
)

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
