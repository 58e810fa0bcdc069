package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type doctorOptions struct {
	format     string
	skipImages bool
	host       hostOptions
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
			ts, err := targets(dockerCLI, global, opts.host)
			if err != nil {
				return err
			}
			if len(opts.host.contexts) == 0 && !ts[0].local {
				return printThroughDaemon(cmd, dockerCLI, ts[0], opts.host, opts.format)
			}
			check := func(ctx context.Context, t target) (remap.Findings, error) {
				return reportOn(ctx, cmd, t, global, opts.host, func(root hostfs.Root) (remap.Findings, error) {
					findings := remap.Doctor(ctx, root, t.cli.Client())
					if !opts.skipImages {
						findings = append(findings, localImagesFinding(ctx, t.cli))
					}
					return findings, nil
				})
			}
			if len(opts.host.contexts) == 0 {
				findings, err := check(cmd.Context(), ts[0])
				if err != nil {
					return err
				}
				if err := writeFormatted(dockerCLI.Out(), opts.format, findings, func(w io.Writer) error { return writeFindings(w, findings) }); err != nil {
					return err
				}
				if n := findings.Count(remap.Fail); n > 0 {
					return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("doctor: %d check(s) FAILed", n)}
				}
				return nil
			}
			opts.host.rollout = fleet.Options{Canary: 0, Parallel: len(ts)}
			return rollout(cmd.Context(), dockerCLI, "doctor", ts, opts.host, opts.format, func(ctx context.Context, t target, _ io.Writer) (fleet.Outcome, error) {
				findings, err := check(ctx, t)
				if err != nil {
					return fleet.Outcome{}, err
				}
				out := fleet.Outcome{Result: "PASS", Message: fmt.Sprintf("%d PASS, %d WARN, %d FAIL", findings.Count(remap.Pass), findings.Count(remap.Warn), findings.Count(remap.Fail))}
				if n := findings.Count(remap.Fail); n > 0 {
					return fleet.Outcome{Result: "FAIL", Message: out.Message}, fmt.Errorf("%d check(s) FAILed", n)
				}
				if findings.Count(remap.Warn) > 0 {
					out.Result = "WARN"
				}
				return out, nil
			})
		},
	}
	addHostFlags(cmd.Flags(), &opts.host, false)
	addFormatFlag(cmd.Flags(), &opts.format)
	cmd.Flags().BoolVar(&opts.skipImages, "skip-images", false, "Do not scan local images for ids a 65536-wide range cannot map")
	return cmd
}

// localImagesFinding warns about local images whose files hold ids that a
// default range cannot map: after the switch to remapping they could not be
// pulled or loaded again without a wider --size.
func localImagesFinding(ctx context.Context, dockerCLI command.Cli) remap.Finding {
	const check = "local images"
	state, err := daemon.Inspect(ctx, dockerCLI.Client())
	if err != nil {
		return remap.Finding{Check: check, Verdict: remap.Warn, Detail: "not scanned: " + err.Error()}
	}
	if state.Remapped {
		return remap.Finding{Check: check, Verdict: remap.Pass, Detail: "remapping is on: the images in its data root were mapped when they were pulled"}
	}
	images, err := (&imagescan.Scanner{Daemon: dockerCLI.Client()}).ScanDaemonAll(ctx)
	if err != nil {
		return remap.Finding{Check: check, Verdict: remap.Warn, Detail: "not scanned: " + err.Error()}
	}
	var tooWide []string
	for _, img := range images {
		if img.Needed() > rangeplan.DefaultSize {
			tooWide = append(tooWide, fmt.Sprintf("%s (needs %d ids)", img.Name, img.Needed()))
		}
	}
	if len(tooWide) > 0 {
		return remap.Finding{Check: check, Verdict: remap.Warn,
			Detail: "hold ids past 65535, which a default range cannot map: " + strings.Join(tooWide, ", "),
			Fix:    "docker userns enable --size auto USER (sizes the range for every local image)"}
	}
	return remap.Finding{Check: check, Verdict: remap.Pass, Detail: fmt.Sprintf("all %d local images fit a 65536-wide range", len(images))}
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
