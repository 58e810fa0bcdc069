package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

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
// confirmed, so it cannot delay or undo the agent's revert. A change that
// turns remapping off also says what the unremapped root shows again.
func withCarrying(ctx context.Context, t target, keep keepOptions, c hostChange, progress io.Writer, change func() (remap.Outcome, error)) (remap.Outcome, error) {
	opts, err := keep.carryOptions(progress)
	if err != nil {
		return remap.Outcome{}, err
	}
	api := t.cli.Client()
	var plan *carry.Plan
	if opts.Any() {
		if plan, err = carry.Prepare(ctx, api, opts, c.dryRun); err != nil {
			return remap.Outcome{}, err
		}
		defer plan.Close()
		if err := plan.Check(c.mapped); err != nil {
			return remap.Outcome{}, err
		}
	}
	// What the remapped root holds, to tell after a disable what stays
	// there out of view (four list calls).
	var remapped, visible *carry.Inventory
	if c.mapped == 0 && !c.dryRun {
		remapped = carry.TakeInventory(ctx, api)
	}
	out, err := change()
	if err != nil {
		return out, err
	}
	if remapped != nil && out.Result == remap.Disabled {
		visible = carry.TakeInventory(ctx, api)
	}
	if plan != nil {
		out.Carried = carryAcross(ctx, api, plan, out)
	}
	if visible != nil {
		after := visible
		if out.Carried != nil && len(out.Carried.Items) > 0 && out.Carried.Note == "" {
			after = carry.TakeInventory(ctx, api)
		}
		out.Reappeared = carry.Reappear(remapped, visible, after)
	}
	if out.Carried != nil {
		if missing := out.Carried.Missing(); len(missing) > 0 {
			return out, &carry.IncompleteError{Action: out.Action, Missing: missing}
		}
	}
	return out, nil
}

// carryAcross carries what plan holds after a change with that outcome:
// into the new map after enable, back to host ids after disable; nothing
// when the data root stayed (a dry run lists what would be carried).
func carryAcross(ctx context.Context, api carry.API, plan *carry.Plan, out remap.Outcome) *carry.Report {
	switch out.Result {
	case remap.DryRun:
		return plan.DryRun()
	case remap.Enabled:
		return plan.Carry(ctx, api, out.Plan.UID.Map, out.Plan.GID.Map)
	case remap.Disabled:
		return plan.Carry(ctx, api, idmap.Identity, idmap.Identity)
	default:
		return carry.Unchanged(fmt.Sprintf("%s: the data root did not change", out.Result))
	}
}

// writeReappeared prints what a disable shows again, and what stays in
// the remapped root.
func writeReappeared(b *strings.Builder, r *carry.Reappeared) {
	if r == nil {
		return
	}
	fmt.Fprintf(b, "The daemon's data root is %s again: its %s from before remapping are visible again.\n", r.Visible.Path, r.Visible.Counted())
	if m := r.MadeWhileRemapped; m != nil {
		fmt.Fprintf(b, "Made while remapped and out of view in %s: %s (enabling it again for the same user shows them; --keep-images and --keep-volumes carry images and volumes, never containers).\n", m.Path, m.Counted())
	}
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
	if r.ExpectedSeconds > 0 {
		var bytes int64
		for _, it := range r.Items {
			if it.Result == carry.WouldCarry {
				bytes += it.Bytes
			}
		}
		fmt.Fprintf(b, "Expected: about %s to carry %s, before and after the restart (images %s/s through docker save and load, volumes %s/s: rates measured on a 2-core test machine).\n",
			time.Duration(r.ExpectedSeconds)*time.Second, carry.Size(bytes), carry.Size(carry.ImageRate), carry.Size(carry.VolumeRate))
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
