// Package imagefit asks whether images fit a daemon's range of ids: the
// mapping check-image judges them against (from --size, a user's ranges or
// the daemon in force) and the size `enable --size auto` plans for them.
// The scans are imagescan's.
package imagefit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
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
