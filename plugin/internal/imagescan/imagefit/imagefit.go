// Package imagefit asks whether a daemon's images fit a range of ids: the
// size `enable --size auto` plans for them, and doctor's finding on the
// local images before remapping is turned on. The scans are imagescan's.
package imagefit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// SizeForImages scans images (every image in the daemon when refs is
// empty; a ref may also be a file or a registry image, read with keychain)
// for the highest uid and gid and returns a size that maps them all,
// saying so on progress.
func SizeForImages(ctx context.Context, api imagescan.DaemonAPI, keychain authn.Keychain, refs []string, progress io.Writer) (uint32, error) {
	// A registry image as this daemon would pull it, not this client.
	scanner := imagescan.ForDaemon(ctx, api, keychain, "")
	size, images, err := imagescan.SizeFor(ctx, scanner, refs, imagescan.SourceAuto)
	if err != nil {
		return 0, fmt.Errorf("size for images: %w", err)
	}
	if size == 0 || size >= subid.MaxID {
		return 0, errors.New("size for images: an image holds an id no range can map")
	}
	fmt.Fprintf(progress, "--size auto: %d ids map the highest uid and gid of %d image(s)\n", size, len(images))
	return uint32(size), nil
}

// LocalImagesFinding warns about local images whose files hold ids that a
// default range cannot map: after the switch to remapping they could not be
// pulled or loaded again without a wider --size.
func LocalImagesFinding(ctx context.Context, api client.APIClient) remap.Finding {
	const check = "local images"
	state, err := daemon.Inspect(ctx, api)
	if err != nil {
		return remap.Finding{Check: check, Verdict: remap.Warn, Detail: "not scanned: " + err.Error()}
	}
	if state.Remapped {
		return remap.Finding{Check: check, Verdict: remap.Pass, Detail: "remapping is on: the images in its data root were mapped when they were pulled"}
	}
	images, err := (&imagescan.Scanner{Daemon: api}).ScanDaemonAll(ctx)
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
