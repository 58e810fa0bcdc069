package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagefit"
)

type checkImageOptions struct {
	images  []string
	root    string
	source  string
	size    uint64
	sizeSet bool // --size was given
	user    string
	format  string
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
(read with the docker CLI's credentials, not pulled into the daemon).`,
		Example: `  docker userns check-image alpine:3.20
  docker userns check-image --size 65536 registry.example.com/app:1.2
  docker userns check-image --source file --format json app.tar`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images, opts.root, opts.sizeSet = args, global.root, cmd.Flags().Changed("size")
			return runCheckImage(cmd.Context(), dockerCLI, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.source, "source", "auto", "Where to read images: auto (a path, else the daemon, else the registry), daemon, registry, file")
	flags.Uint64Var(&opts.size, "size", 0, "Judge against this many mapped ids instead of the daemon's mapping")
	flags.StringVar(&opts.user, "user", "", "Judge against the subordinate ranges of USER[:GROUP] in /etc/subuid and /etc/subgid")
	addFormatFlag(flags, &opts.format)
	return cmd
}

// checkImageRow is one image's line of output: the scan and the verdict.
type checkImageRow struct {
	// Ref is the IMAGE argument it came from.
	Ref string `json:"ref"`
	imagescan.Image
	imagescan.Verdict
}

func runCheckImage(ctx context.Context, dockerCLI command.Cli, opts checkImageOptions) error {
	// As enable's --size: 2^32-1 is no id, so a range holds one less.
	if opts.sizeSet && (opts.size == 0 || opts.size >= imagescan.MaxSize) {
		return fmt.Errorf("check --size %d: want 1 to %d", opts.size, uint64(imagescan.MaxSize-1))
	}
	if opts.sizeSet && opts.user != "" {
		return errors.New("check --size and --user: give one of them")
	}
	src, err := imagescan.ParseSource(opts.source)
	if err != nil {
		return err
	}
	mapping, mappingErr := imagefit.MappingFor(ctx, dockerCLI.Client(), opts.root, opts.size, opts.user)
	if opts.user != "" && mappingErr != nil {
		return fmt.Errorf("check-image --user %s: %w", opts.user, mappingErr)
	}
	scanner := &imagescan.Scanner{Keychain: imagescan.CLIKeychain(dockerCLI.ConfigFile())}
	if src != imagescan.SourceFile {
		scanner.Daemon = dockerCLI.Client()
	}
	var (
		rows    []checkImageRow
		failed  []error
		misfits int
	)
	for _, ref := range opts.images {
		images, err := scanner.Scan(ctx, ref, src)
		if err != nil {
			failed = append(failed, fmt.Errorf("check-image %s: %w", ref, err))
			continue
		}
		for _, img := range images {
			row := checkImageRow{Ref: ref, Image: img, Verdict: imagescan.Judge(img, mapping)}
			if row.Known && !row.Fits {
				misfits++
			}
			rows = append(rows, row)
		}
	}
	if mappingErr != nil && len(rows) > 0 {
		fmt.Fprintf(dockerCLI.Err(), "WARNING: %v\n", mappingErr)
	}
	if err := writeCheckImage(dockerCLI.Out(), opts.format, rows); err != nil {
		return err
	}
	for _, err := range failed {
		fmt.Fprintln(dockerCLI.Err(), err)
	}
	switch {
	case misfits > 0:
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("check-image: %d of %d images do not fit", misfits, len(rows))}
	case len(failed) > 0:
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("check-image: %d of %d images could not be read", len(failed), len(opts.images))}
	}
	return nil
}

func writeCheckImage(out io.Writer, format string, rows []checkImageRow) error {
	return writeFormatted(out, format, rows, func(out io.Writer) error {
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
