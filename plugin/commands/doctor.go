package commands

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type doctorOptions struct {
	report     reportOptions
	skipImages bool
}

func newDoctorCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	opts := doctorOptions{report: reportOptions{action: "doctor"}}
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
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.report.root = global.root
			return runDoctor(cmd.Context(), dockerCLI, opts)
		},
	}
	addReportFlags(cmd.Flags(), &opts.report)
	cmd.Flags().BoolVar(&opts.skipImages, "skip-images", false, "Do not scan local images for ids a 65536-wide range cannot map")
	return cmd
}

// runDoctor checks one host or a fleet; a FAIL exits 1.
func runDoctor(ctx context.Context, dockerCLI command.Cli, opts doctorOptions) error {
	ropts := opts.report.reportOptions(dockerCLI.Err())
	ropts.SkipImages = opts.skipImages
	return runReport(ctx, dockerCLI, opts.report, ropts, printer[remap.Findings]{write: writeFindings, exit: doctorExit})
}

// doctorExit is 1 when a check FAILed.
func doctorExit(findings remap.Findings) error {
	if n := findings.Count(remap.Fail); n > 0 {
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("doctor: %d check(s) FAILed", n)}
	}
	return nil
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
