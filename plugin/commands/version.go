package commands

import (
	"fmt"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	dockeruserns "github.com/docker-userns/docker-userns"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
)

// versionLine is what `docker userns version` and `--version` print: the
// version the plugin reports to the docker CLI (docker info's plugin list),
// which a release build fills in (scripts/version).
func versionLine() string { return "docker-userns version " + dockeruserns.Version() + "\n" }

// versionInfo is version's --format shape.
type versionInfo struct {
	Version string `json:"version"`
}

func newVersionCommand(dockerCLI command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the docker-userns version",
		Long: `Show the version of this docker-userns: the release it was built from (a
tag, or 0.0.0-<commit time>-<commit> between releases), as docker info lists it.`,
		Example: `  docker userns version
  docker userns version --format json`,
		Args: cli.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return dockerformat.Write(dockerCLI.Out(), format, versionInfo{Version: dockeruserns.Version()}, func(out io.Writer) error {
				_, err := fmt.Fprint(out, versionLine())
				return err
			})
		},
	}
	dockerformat.AddFlag(cmd.Flags(), &format)
	return cmd
}
