package commands

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type doctorOptions struct {
	format string
}

func newDoctorCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	var opts doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [OPTIONS]",
		Short: "Check that this host can run the daemon with remapping",
		Long: `Check that this host can run the daemon with user-namespace remapping, each
check PASS, WARN or FAIL with a one-line fix: kernel user namespaces, the
subuid/subgid files, daemon.json, a --userns-remap flag beside daemon.json,
the remap user and group, ranges wide enough and colliding with no host user
or other range, the data root's parents searchable by the remapped root, and
the daemon itself. Exits 1 when any check FAILs.`,
		Example: `  sudo docker userns doctor
  sudo docker userns doctor --format json`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := hostfs.Open(global.root)
			if err != nil {
				return err
			}
			findings := remap.Doctor(cmd.Context(), root, dockerCLI.Client())
			if err := writeFormatted(dockerCLI.Out(), opts.format, findings, func(w io.Writer) error { return writeFindings(w, findings) }); err != nil {
				return err
			}
			if n := findings.Count(remap.Fail); n > 0 {
				return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("doctor: %d check(s) FAILed", n)}
			}
			return nil
		},
	}
	addFormatFlag(cmd.Flags(), &opts.format)
	return cmd
}

func writeFindings(w io.Writer, findings remap.Findings) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCHECK\tDETAIL")
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Verdict, f.Check, f.Detail)
		if f.Fix != "" && f.Verdict != remap.Pass {
			fmt.Fprintf(tw, "\t\tfix: %s\n", f.Fix)
		}
	}
	return tw.Flush()
}
