package commands

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/change"
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

// keep maps the flags to what the change carries: --keep-images alone
// (every tagged image) or with a list, never both.
func (k keepOptions) keep() (change.Keep, error) {
	out := change.Keep{Images: len(k.images) > 0, Volumes: k.volumes}
	for _, ref := range k.images {
		if ref == allImages {
			if len(k.images) > 1 {
				return out, errors.New("--keep-images: give it alone (every tagged image) or as --keep-images=IMAGE,IMAGE")
			}
			continue
		}
		out.ImageRefs = append(out.ImageRefs, ref)
	}
	return out, nil
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
		fmt.Fprintf(b, "Expected: about %s to carry %s, before and after the restart (images %s/s through docker save and load, volumes %s/s: rates measured on a 2-core test machine).\n",
			time.Duration(r.ExpectedSeconds)*time.Second, carry.Size(r.BytesToCarry()), carry.Size(carry.ImageRate), carry.Size(carry.VolumeRate))
	}
}
