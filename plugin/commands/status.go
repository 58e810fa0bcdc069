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

	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type statusOptions struct {
	report reportOptions
}

func newStatusCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	opts := statusOptions{report: reportOptions{action: "status"}}
	cmd := &cobra.Command{
		Use:   "status [OPTIONS]",
		Short: "Show whether the daemon remaps, and what the host files say",
		Long: `Show what the daemon says (remapping on or off, data root, version) beside
what the host files say: the userns-remap setting and where it comes from,
the remap user's subordinate ranges, and the map from container ids to host
ids they give. Warnings name a range that covers a host user, ranges that
overlap another user's, a range narrower than 65536, and running containers
that bypass remapping with --userns=host.`,
		Example: `  docker userns status
  docker userns status --format json
  docker userns status --format '{{.Daemon.Remapped}}'`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.report.root = global.root
			return runStatus(cmd.Context(), dockerCLI, opts)
		},
	}
	addReportFlags(cmd.Flags(), &opts.report)
	return cmd
}

// runStatus shows the status of one host or a fleet.
func runStatus(ctx context.Context, dockerCLI command.Cli, opts statusOptions) error {
	return runReport(ctx, dockerCLI, opts.report, opts.report.reportOptions(dockerCLI.Err()), printer[remap.Status]{write: writeStatus})
}

func writeStatus(w io.Writer, st remap.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if st.Daemon != nil {
		fmt.Fprintf(tw, "Daemon:\tDocker %s, remapping %s\n", st.Daemon.Version, onOff(st.Daemon.Remapped))
		fmt.Fprintf(tw, "Data root:\t%s\n", st.Daemon.DataRoot)
		if st.ImageStore != nil {
			fmt.Fprintf(tw, "Image store:\t%s\n", st.ImageStore.Short())
		}
	} else if st.DaemonNotAsked {
		fmt.Fprintf(tw, "Daemon:\tnot reached: %s\n", st.DaemonError)
	} else {
		fmt.Fprintf(tw, "Daemon:\tnot reachable: %s\n", st.DaemonError)
	}
	if st.Setting == "" {
		fmt.Fprintf(tw, "Setting:\tuserns-remap not set\n")
	} else {
		fmt.Fprintf(tw, "Setting:\tuserns-remap %q in %s\n", st.Setting, st.Source)
	}
	if st.User != nil {
		fmt.Fprintf(tw, "Remap user:\t%s (uid %d), group %s (gid %d)\n", st.User.User, st.User.UID, st.User.Group, st.User.GID)
		fmt.Fprintf(tw, "Ranges:\tuid %s; gid %s (as %s reads them)\n", joinStrings(st.UIDRanges), joinStrings(st.GIDRanges), st.Rule.Describe())
		fmt.Fprintf(tw, "Container -> host:\tuid %s; gid %s\n", st.UIDMap, st.GIDMap)
		if st.Root != nil {
			fmt.Fprintf(tw, "Container root:\t%s\n", st.Root)
		}
	}
	for _, r := range st.LeftBehind {
		fmt.Fprintf(tw, "Other data root:\t%s (out of the daemon's view)\n", r)
	}
	for _, warning := range st.Warnings {
		fmt.Fprintf(tw, "WARNING:\t%s\n", warning)
	}
	return tw.Flush()
}

func joinStrings[T fmt.Stringer](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.String()
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
