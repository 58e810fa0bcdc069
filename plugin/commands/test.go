package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

type testOptions struct {
	root    string
	format  string
	junit   string
	tempDir string
}

func newTestCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	var opts testOptions
	cmd := &cobra.Command{
		Use:   "test [OPTIONS]",
		Short: "Check live that the daemon remaps as the host files say",
		Long: `Check live that the daemon remaps ids as the host files say, with probe
containers and images built on the spot from this plugin's own binary (no
pull). Everything made (containers, images, temporary files) is removed,
also when a check fails.

Checks:
  remapping on               docker info lists name=userns
  id map matches host files  a container's uid_map and gid_map are the map
                             computed from userns-remap in daemon.json and
                             the user's ranges in /etc/subuid and /etc/subgid
  bind mount owner           a file container root writes into a temporary
                             bind-mounted directory is owned by the host
                             user of container root
  root-only file unreadable  container root cannot read a 0600 file of host
                             root in a mounted directory (permission denied)
  uid range boundary         an image with a file at the highest mapped uid
                             loads; one at the next uid is refused with
                             "cannot be mapped to a host ID"

Exits 0 when every check passes, 1 naming the failed checks otherwise.

The bind-mount checks make temporary directories on this machine, so they
only work when the daemon runs here too (not with a remote DOCKER_HOST or
context). --root applies to the host files only, never to those directories.`,
		Example: `  docker userns test
  docker userns test --format json
  docker userns test --junit userns-test.xml`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.root = global.root
			return runTest(cmd.Context(), dockerCLI, opts)
		},
	}
	flags := cmd.Flags()
	addFormatFlag(flags, &opts.format)
	flags.StringVar(&opts.junit, "junit", "", "Also write a JUnit XML report to this file")
	flags.StringVar(&opts.tempDir, "tmpdir", "", "Make the temporary bind-mount directories here (default $TMPDIR or /tmp); the remapped container root must be able to reach it")
	return cmd
}

func runTest(ctx context.Context, dockerCLI command.Cli, opts testOptions) error {
	root, err := hostfs.Open(opts.root)
	if err != nil {
		return err
	}
	if host := dockerCLI.DockerEndpoint().Host; !strings.HasPrefix(host, "unix://") && !strings.HasPrefix(host, "npipe://") {
		fmt.Fprintf(dockerCLI.Err(), "WARNING: the daemon is at %s: the bind-mount checks use temporary directories on this machine and fail unless the daemon runs here\n", host)
	}
	binary, err := probe.SelfBinary()
	if err != nil {
		return err
	}
	report, err := livecheck.Run(ctx, livecheck.Env{
		API:     dockerCLI.Client(),
		Root:    root,
		Binary:  binary,
		TempDir: opts.tempDir,
	})
	if err != nil {
		return err
	}
	if err := writeTestReport(dockerCLI.Out(), opts.format, report); err != nil {
		return err
	}
	if opts.junit != "" {
		if err := writeJUnitFile(opts.junit, report); err != nil {
			return err
		}
	}
	if report.OK {
		return nil
	}
	var why []string
	if len(report.Failed) > 0 {
		why = append(why, fmt.Sprintf("%d of %d checks failed: %s", len(report.Failed), len(report.Checks), strings.Join(report.Failed, ", ")))
	}
	if len(report.Leftovers) > 0 {
		why = append(why, "left behind: "+strings.Join(report.Leftovers, "; "))
	}
	return cli.StatusError{StatusCode: 1, Status: "test: " + strings.Join(why, "; ")}
}

func writeJUnitFile(path string, report livecheck.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if err := report.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	return nil
}

// writeTestReport prints the report for people (each check with what was
// expected and observed, then the verdict), as JSON, or through a template.
func writeTestReport(out io.Writer, format string, report livecheck.Report) error {
	return writeFormatted(out, format, report, func(out io.Writer) error {
		var b strings.Builder
		for _, c := range report.Checks {
			fmt.Fprintf(&b, "%s  %s\n", c.Status, c.Name)
			fmt.Fprintf(&b, "      expected  %s\n", c.Expected)
			fmt.Fprintf(&b, "      observed  %s\n", c.Observed)
		}
		for _, l := range report.Leftovers {
			fmt.Fprintf(&b, "LEFT  %s\n", l)
		}
		verdict := "PASS"
		if !report.OK {
			verdict = fmt.Sprintf("FAIL (%s)", strings.Join(slices.Concat(report.Failed, leftWord(report.Leftovers)), ", "))
		}
		fmt.Fprintf(&b, "\n%s: %d of %d checks passed on Docker %s in %.1fs\n",
			verdict, len(report.Checks)-len(report.Failed), len(report.Checks), report.Daemon, report.Seconds)
		_, err := io.WriteString(out, b.String())
		return err
	})
}

// leftWord names leftovers in the verdict line.
func leftWord(leftovers []string) []string {
	if len(leftovers) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%d left behind", len(leftovers))}
}
