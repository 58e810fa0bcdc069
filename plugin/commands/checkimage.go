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

	"github.com/docker-userns/docker-userns/plugin/internal/dockerformat"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/report"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

type checkImageOptions struct {
	images   []string
	root     string
	source   string
	size     uint64
	sizeSet  bool // --size was given
	user     string
	platform string
	contexts []string
	format   string
}

func newCheckImageCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	var opts checkImageOptions
	cmd := &cobra.Command{
		Use:   "check-image [OPTIONS] IMAGE...",
		Short: "Tell whether the file owners in images fit the daemon's id mapping",
		Long: `Tell whether the file owners in images fit the daemon's id mapping.

A remapped daemon fails to pull or load an image whose layers hold a file
owned by a uid or gid at or above the number of ids it maps ("container ID
70000 cannot be mapped to a host ID"). check-image reads the layers' tar
headers, without pulling the image, and reports the highest ids, the files
that hold them, and whether they fit. It exits 1 when an image does not fit.

IMAGE is a path to a docker save tarball or an OCI layout, an image in the
local daemon (streamed, nothing written to disk), or an image in a registry
(read with the docker CLI's credentials, not pulled into the daemon; of a
multi-platform image, the daemon's platform unless --platform says).

With --context, repeated, every daemon of a fleet judges the images at once,
each against its own mapping (a daemon on another machine tells it through
a helper container, as status does), one line per host.`,
		Example: `  docker userns check-image alpine:3.20
  docker userns check-image --size 65536 registry.example.com/app:1.2
  docker userns check-image --platform linux/arm64 registry.example.com/app:1.2
  docker userns check-image --context ci-1 --context ci-2 registry.example.com/app:1.2
  docker userns check-image --source file --format json app.tar`,
		Args:              cli.RequiresMinArgs(1),
		ValidArgsFunction: completeImageArgs(dockerCLI, &opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images, opts.root, opts.sizeSet = args, global.root, cmd.Flags().Changed("size")
			return runCheckImage(cmd.Context(), dockerCLI, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.source, "source", "auto", "Where to read images: auto (a path, else the daemon, else the registry), daemon, registry, file")
	flags.Uint64Var(&opts.size, "size", 0, "Judge against this many mapped ids instead of the daemon's mapping")
	flags.StringVar(&opts.user, "user", "", "Judge against the subordinate ranges of USER[:GROUP] in /etc/subuid and /etc/subgid")
	flags.StringVar(&opts.platform, "platform", "", `Read this platform of a multi-platform registry image, "os/arch[/variant]" (default: the daemon's)`)
	flags.StringArrayVar(&opts.contexts, "context", nil, "Judge on the daemon of this Docker context; repeat for a fleet")
	dockerformat.AddFlag(flags, &opts.format)
	return cmd
}

func runCheckImage(ctx context.Context, dockerCLI command.Cli, opts checkImageOptions) error {
	res, err := report.Images(ctx, dockerCLI, report.ImagesOptions{
		Images:   opts.images,
		Hosts:    target.Options{Root: opts.root, Via: target.ViaAuto, Contexts: opts.contexts},
		Source:   opts.source,
		Size:     opts.size,
		SizeSet:  opts.sizeSet,
		User:     opts.user,
		Platform: opts.platform,
		Progress: dockerCLI.Err(),
	})
	if err != nil {
		return err
	}
	if len(opts.contexts) > 0 {
		return writeFleet(dockerCLI, "check-image", opts.format, res.Fleet)
	}
	checked := res.Checked
	if res.MappingErr != nil && len(checked.Rows) > 0 {
		fmt.Fprintf(dockerCLI.Err(), "WARNING: %v\n", res.MappingErr)
	}
	if err := writeCheckImage(dockerCLI.Out(), opts.format, checked.Rows); err != nil {
		return err
	}
	for _, err := range checked.Failed {
		fmt.Fprintln(dockerCLI.Err(), err)
	}
	switch n := checked.Misfits(); {
	case n > 0:
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("check-image: %d of %d images do not fit", n, len(checked.Rows))}
	case len(checked.Failed) > 0:
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("check-image: %d of %d images could not be read", len(checked.Failed), len(opts.images))}
	}
	return nil
}

func writeCheckImage(out io.Writer, format string, rows []imagescan.Row) error {
	return dockerformat.Write(out, format, rows, func(out io.Writer) error {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tSOURCE\tLAYERS\tFILES\tMAX UID\tMAX GID\tVERDICT")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.Name, r.Source, r.Layers, r.Entries, r.MaxUID, r.MaxGID, r.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, r := range rows {
			if len(r.Holders) == 0 {
				continue
			}
			fmt.Fprintf(out, "\n%s: files at the highest ids\n", r.Name)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  UID\tGID\tLAYER\tPATH")
			for _, h := range r.Holders {
				fmt.Fprintf(tw, "  %d\t%d\t%d %s\t%s\n", h.UID, h.GID, h.LayerIndex, shortDigest(h.Layer), h.Path)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		return nil
	})
}

// shortDigest keeps a digest readable in a table: algorithm and 12 hex digits.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}
