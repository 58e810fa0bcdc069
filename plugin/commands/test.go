package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/report"
)

// exitIncomplete is test's exit status when checks could not run for want
// of the host's files and none failed: not a pass, and not a failure (1).
const exitIncomplete = 2

type testOptions struct {
	report  reportOptions
	junit   string
	tempDir string
}

func newTestCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	opts := testOptions{report: reportOptions{action: "test"}}
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

When the daemon is not on this machine (a tcp, ssh or another machine's
socket), the host part (reading the host files, the temporary bind-mount
directories and the root-only file) runs on the daemon's host in a helper
container started through the daemon, as enable does; it leaves nothing
there. When the host's files cannot be reached at all (the daemon does not
start the helper, a rootless daemon), the checks that need them are SKIP,
"needs the host's files: why", and the run is incomplete.

With --context, repeated, every host is tested at once: one line per host
(or one JSON object per host), and --junit writes one testsuite per host.

Exits 0 when every check passes, 1 naming the failed checks, 2 when none
failed but some could not run (incomplete).

--root applies to the host files only, never to the temporary directories.`,
		Example: `  docker userns test
  docker userns test --format json
  docker userns test --junit userns-test.xml
  docker userns test --context ci-1 --context ci-2 --context ci-3`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.report.root = global.root
			return runTest(cmd.Context(), dockerCLI, opts)
		},
	}
	flags := cmd.Flags()
	addReportFlags(flags, &opts.report)
	flags.StringVar(&opts.junit, "junit", "", "Also write a JUnit XML report to this file")
	flags.StringVar(&opts.tempDir, "tmpdir", "", "Make the temporary bind-mount directories here on the daemon's host (default $TMPDIR or /tmp); the remapped container root must be able to reach it")
	return cmd
}

// runTest tests one host or a fleet: on this machine, or through the daemon
// with the host part in a helper container.
func runTest(ctx context.Context, dockerCLI command.Cli, opts testOptions) error {
	ropts := opts.report.reportOptions(dockerCLI.Err())
	ropts.TempDir = opts.tempDir
	return runReport(ctx, dockerCLI, opts.report, ropts, printer[livecheck.Report]{
		write: writeTestReport,
		exit:  testExit,
		keep: func(hosts []report.Host[livecheck.Report]) error {
			return writeJUnitFile(opts.junit, hosts)
		},
	})
}

// testExit is 1 when a check failed or something was left behind, else
// exitIncomplete when checks could not run, else 0.
func testExit(r livecheck.Report) error {
	var why []string
	if len(r.Failed) > 0 {
		why = append(why, fmt.Sprintf("%d of %d checks failed: %s", len(r.Failed), len(r.Checks), strings.Join(r.Failed, ", ")))
	}
	if len(r.Leftovers) > 0 {
		why = append(why, "left behind: "+strings.Join(r.Leftovers, "; "))
	}
	if len(why) > 0 {
		return cli.StatusError{StatusCode: 1, Status: "test: " + strings.Join(why, "; ")}
	}
	if len(r.Incomplete) > 0 {
		return cli.StatusError{StatusCode: exitIncomplete, Status: fmt.Sprintf("test: incomplete: %d of %d checks could not run, they need the host's files: %s",
			len(r.Incomplete), len(r.Checks), r.HostFilesError)}
	}
	return nil
}

// writeJUnitFile writes the JUnit report of one host (one testsuite) or of
// a fleet (one per host) to path; "" writes none.
func writeJUnitFile(path string, reads []report.Host[livecheck.Report]) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if len(reads) == 1 && reads[0].Name == "" {
		err = reads[0].Value.WriteJUnit(f)
	} else {
		hosts := make([]livecheck.HostReport, len(reads))
		for i, h := range reads {
			hosts[i] = livecheck.HostReport{Host: h.Name, Report: h.Value, Err: h.Err}
		}
		err = livecheck.WriteJUnitHosts(f, hosts)
	}
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	return nil
}

// writeTestReport prints the report for people: each check with what was
// expected and observed, then the verdict.
func writeTestReport(out io.Writer, rep livecheck.Report) error {
	var b strings.Builder
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "%s  %s\n", c.Status, c.Name)
		fmt.Fprintf(&b, "      expected  %s\n", c.Expected)
		fmt.Fprintf(&b, "      observed  %s\n", c.Observed)
	}
	for _, l := range rep.Leftovers {
		fmt.Fprintf(&b, "LEFT  %s\n", l)
	}
	word := string(rep.Verdict())
	switch rep.Verdict() {
	case livecheck.Fail:
		word += " (" + strings.Join(rep.Failures(), ", ") + ")"
	case livecheck.Incomplete:
		word += fmt.Sprintf(" (%d need the host's files)", len(rep.Incomplete))
	}
	fmt.Fprintf(&b, "\n%s: %d of %d checks passed on Docker %s in %.1fs\n",
		word, rep.Passed(), len(rep.Checks), rep.Daemon, rep.Seconds)
	_, err := io.WriteString(out, b.String())
	return err
}
