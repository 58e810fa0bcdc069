package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// keepOptions are --keep-images and --keep-volumes: what enable and
// disable carry across the switch of data root.
type keepOptions struct {
	images  []string // allImages alone: every tagged image
	volumes bool
}

// allImages is --keep-images given without a list.
const allImages = "*"

// addKeepFlags adds --keep-images[=IMAGE,...] and --keep-volumes.
func addKeepFlags(flags *pflag.FlagSet, opts *keepOptions) {
	flags.StringSliceVar(&opts.images, "keep-images", nil, "Carry the images (every tagged one, or those listed as --keep-images=IMAGE,...) into the data root the daemon switches to")
	flags.Lookup("keep-images").NoOptDefVal = allImages
	flags.BoolVar(&opts.volumes, "keep-volumes", false, "Copy the named volumes of the local driver into the data root the daemon switches to, owners shifted by the new map")
}

func (k keepOptions) carryOptions(progress io.Writer) (carry.Options, error) {
	o := carry.Options{Images: len(k.images) > 0, Volumes: k.volumes, Progress: progress}
	for _, ref := range k.images {
		if ref == allImages {
			if len(k.images) > 1 {
				return o, errors.New("--keep-images: give it alone (every tagged image) or as --keep-images=IMAGE,IMAGE")
			}
			continue
		}
		o.ImageRefs = append(o.ImageRefs, ref)
	}
	if o.Any() {
		binary, err := probe.SelfBinary()
		if err != nil {
			return o, err
		}
		o.Binary = binary
	}
	return o, nil
}

// checkRestart refuses carrying without a restart to carry across.
func (k keepOptions) checkRestart(restart string) error {
	if (len(k.images) > 0 || k.volumes) && restart == string(daemon.StrategyNone) {
		return errors.New("--keep-images and --keep-volumes carry once the restarted daemon answers: they do not go with --restart none")
	}
	return nil
}

// withCarrying wraps a change of one host: before it, what is to be kept
// is listed, saved and scanned on the old daemon, and refused when the new
// map (of mapped ids; 0 for no limit) cannot hold it; after a confirmed
// change it is carried into the new daemon. A change that reverted or
// failed carries nothing: everything is still in the old root, which is
// in use again. Carrying starts only after the host agent has been
// confirmed, so it cannot delay or undo the agent's revert.
func withCarrying(ctx context.Context, t target, keep keepOptions, c hostChange, progress io.Writer, change func() (remap.Outcome, error)) (remap.Outcome, error) {
	opts, err := keep.carryOptions(progress)
	if err != nil || !opts.Any() {
		if err != nil {
			return remap.Outcome{}, err
		}
		return change()
	}
	api := t.cli.Client()
	plan, err := carry.Prepare(ctx, api, opts, c.dryRun)
	if err != nil {
		return remap.Outcome{}, err
	}
	defer plan.Close()
	if err := plan.Check(c.mapped); err != nil {
		return remap.Outcome{}, err
	}
	out, err := change()
	if err != nil {
		return out, err
	}
	switch out.Result {
	case remap.DryRun:
		out.Carried = plan.DryRun()
	case remap.Enabled:
		out.Carried = plan.Carry(ctx, api, out.Plan.UID.Map, out.Plan.GID.Map)
	case remap.Disabled:
		out.Carried = plan.Carry(ctx, api, idmap.Identity, idmap.Identity)
	default:
		out.Carried = carry.Unchanged(fmt.Sprintf("%s: the data root did not change", out.Result))
		return out, nil
	}
	if missing := out.Carried.Missing(); len(missing) > 0 {
		return out, &carry.IncompleteError{Action: out.Action, Missing: missing}
	}
	return out, nil
}

// writeCarried prints what was carried, one item a line.
func writeCarried(b *strings.Builder, r *carry.Report) {
	if r == nil {
		return
	}
	if r.Note != "" {
		fmt.Fprintf(b, "Nothing carried (%s).\n", r.Note)
		return
	}
	if len(r.Items) == 0 {
		fmt.Fprintln(b, "Nothing to carry.")
		return
	}
	fmt.Fprintln(b, "Images and volumes across the switch of data root:")
	for _, it := range r.Items {
		line := fmt.Sprintf("  %-11s  %-6s  %s", it.Result, it.Kind, it.Name)
		switch {
		case it.Files > 0:
			line += fmt.Sprintf(" (%s, %d files)", carry.Size(it.Bytes), it.Files)
		case it.Bytes > 0:
			line += fmt.Sprintf(" (%s)", carry.Size(it.Bytes))
		}
		if it.Note != "" {
			line += ": " + it.Note
		}
		fmt.Fprintln(b, line)
	}
}

// carriedSummary is one fleet line's words for a report.
func carriedSummary(r *carry.Report) string {
	if r == nil {
		return ""
	}
	n := 0
	for _, it := range r.Items {
		if it.Result == carry.Carried || it.Result == carry.WouldCarry {
			n++
		}
	}
	return fmt.Sprintf("; %d of %d images and volumes carried", n, len(r.Items))
}
