package report

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/imagefit"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// ImagesOptions are one check-image, on one host or a fleet.
type ImagesOptions struct {
	Images []string
	// Hosts are the daemons whose mapping judges the images.
	Hosts  target.Options
	Source string // imagescan.ParseSource
	// Size, when SizeSet, judges against this many mapped ids instead of
	// the daemon's mapping.
	Size    uint64
	SizeSet bool
	// User judges against USER[:GROUP]'s ranges in this machine's files.
	User     string
	Platform string // "": the daemon's
	// Progress gets a fleet's lines, prefixed with each host.
	Progress io.Writer
}

// Check refuses options that cannot work, before any daemon is asked.
func (o ImagesOptions) Check() error {
	// As enable's --size: 2^32-1 is no id, so a range holds one less.
	if o.SizeSet && (o.Size == 0 || o.Size >= imagescan.MaxSize) {
		return fmt.Errorf("check --size %d: want 1 to %d", o.Size, uint64(imagescan.MaxSize-1))
	}
	if o.SizeSet && o.User != "" {
		return errors.New("check --size and --user: give one of them")
	}
	if o.User != "" && len(o.Hosts.Contexts) > 0 {
		return errors.New("check-image --user reads this machine's /etc/subuid: not with --context (give --size)")
	}
	if _, err := imagescan.ParseSource(o.Source); err != nil {
		return err
	}
	if _, err := imagescan.PlatformFor(context.Background(), nil, o.Platform); err != nil {
		return err
	}
	return o.Hosts.Check()
}

// ImagesResult is what Images judged: the one host's images (Checked;
// MappingErr is why its mapping is unknown, the rows then say so), or a
// fleet's rows (Fleet).
type ImagesResult struct {
	Checked    imagescan.Checked
	MappingErr error
	Fleet      []fleet.Result
}

// Images checks opts, resolves the hosts and judges the images on each:
// read as its daemon would get them, against its mapping (mappingOn). On one
// host, a --user whose mapping cannot be read is an error.
func Images(ctx context.Context, dockerCLI command.Cli, opts ImagesOptions) (ImagesResult, error) {
	if err := opts.Check(); err != nil {
		return ImagesResult{}, err
	}
	src, _ := imagescan.ParseSource(opts.Source) // checked
	ts, err := target.ForReport(ctx, dockerCLI, opts.Hosts)
	if err != nil {
		return ImagesResult{}, err
	}
	if len(opts.Hosts.Contexts) > 0 {
		rows := everyHost(ctx, ts, opts.Progress, func(ctx context.Context, _ int, t target.Target) (fleet.Outcome, error) {
			if t.Unreachable != nil {
				return fleet.Outcome{}, t.Unreachable
			}
			checked, _ := checkImagesOn(ctx, t, src, opts)
			return ImagesRow(checked)
		})
		return ImagesResult{Fleet: rows}, nil
	}
	checked, mappingErr := checkImagesOn(ctx, ts[0], src, opts)
	if opts.User != "" && mappingErr != nil {
		return ImagesResult{}, fmt.Errorf("check-image --user %s: %w", opts.User, mappingErr)
	}
	return ImagesResult{Checked: checked, MappingErr: mappingErr}, nil
}

// checkImagesOn scans the images as the daemon of t would get them (its
// images, its platform in a registry) and judges them against its mapping,
// unknown for the reason given.
func checkImagesOn(ctx context.Context, t target.Target, src imagescan.Source, opts ImagesOptions) (imagescan.Checked, error) {
	mapping, mappingErr := mappingOn(ctx, t, opts.Hosts.Root, opts.Size, opts.User)
	keychain := imagescan.CLIKeychain(t.CLI.ConfigFile())
	scanner := &imagescan.Scanner{Keychain: keychain}
	if src != imagescan.SourceFile {
		// A file of the wrong flag is refused before any host is asked.
		scanner = imagescan.ForDaemon(ctx, t.CLI.Client(), keychain, opts.Platform)
	}
	return imagescan.Check(ctx, scanner, opts.Images, src, mapping), mappingErr
}

// mappingOn is what t's daemon maps: size or user when given; else, on
// this machine (or under --root), the daemon's setting read with the
// host's files under root; on another machine, its status read by a helper
// container there, since this machine's files say nothing of that host's
// ranges.
func mappingOn(ctx context.Context, t target.Target, root string, size uint64, user string) (*imagescan.Mapping, error) {
	if t.Local || size > 0 || user != "" {
		return imagefit.MappingFor(ctx, t.CLI.Client(), root, size, user)
	}
	var st remap.Status
	err := decodeThroughDaemon(ctx, t, remap.DefaultSocket, helper.Call{Command: "status"}, &st)
	return imagefit.MappingFromStatus(st, err)
}
