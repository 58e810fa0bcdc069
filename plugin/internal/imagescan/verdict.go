package imagescan

import (
	"context"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
)

const (
	// MinSize is the narrowest mapping worth setting up: dockerd's own
	// default range, and what most images assume.
	MinSize = 65536
	// MaxSize is the widest a range can be (ids are 32 bits, -1 is invalid).
	MaxSize = 1<<32 - 1
)

// Needed is the number of mapped ids img needs: its highest id plus one.
func (img Image) Needed() uint64 {
	return uint64(max(img.MaxUID, img.MaxGID, 0)) + 1
}

// SuggestSize rounds needed up to a multiple of MinSize (at least MinSize);
// 0 when no range can hold it.
func SuggestSize(needed uint64) uint64 {
	if needed > MaxSize {
		return 0
	}
	s := max((needed+MinSize-1)/MinSize*MinSize, MinSize)
	return min(s, MaxSize)
}

// Mapping is how many container uids and gids a daemon maps.
type Mapping struct {
	// Remapped is false when the daemon does not remap: every id fits.
	Remapped   bool
	UIDs, GIDs uint64
	// From says where the sizes were learned ("--size", "/etc/subuid").
	From string
	// DaemonVersion is the version of the daemon that would load the
	// image ("" when not known): Docker 20.10 cannot load zstd layers.
	DaemonVersion string
}

// firstZstdDocker is the first Docker major whose layer extraction reads
// zstd: pkg/archive DecompressStream has no zstd at v20.10.24 and has it
// from v22.06.0-beta.0 (released as 23.0).
const firstZstdDocker = 23

// loadsZstd reports whether a daemon of the version extracts zstd layers;
// true when the version is unknown.
func loadsZstd(version string) bool {
	n, ok := daemon.MajorVersion(version)
	return !ok || n >= firstZstdDocker
}

// Verdict says whether an image can be extracted under a mapping.
type Verdict struct {
	Fits bool `json:"fits"`
	// Known is false when the mapping in force could not be learned.
	Known         bool   `json:"known"`
	Message       string `json:"message"`
	NeededSize    uint64 `json:"neededSize"`
	SuggestedSize uint64 `json:"suggestedSize"`
}

// Judge checks img against m (nil: unknown mapping).
func Judge(img Image, m *Mapping) Verdict {
	v := Verdict{NeededSize: img.Needed(), SuggestedSize: SuggestSize(img.Needed())}
	switch {
	case m == nil:
		v.Message = fmt.Sprintf("unknown mapping; pass --size (this image needs %d)", v.NeededSize)
		return v
	case img.ZstdLayers > 0 && !loadsZstd(m.DaemonVersion):
		v.Known = true
		v.Message = fmt.Sprintf("cannot load: %d of its %d layers are zstd, which Docker %s cannot extract (Docker %d and newer can)", img.ZstdLayers, img.Layers, m.DaemonVersion, firstZstdDocker)
		return v
	case !m.Remapped:
		v.Known, v.Fits = true, true
		v.Message = "fits: the daemon does not remap ids"
		return v
	}
	v.Known = true
	uidOver := uint64(max(img.MaxUID, 0)) >= m.UIDs
	gidOver := uint64(max(img.MaxGID, 0)) >= m.GIDs
	if !uidOver && !gidOver {
		v.Fits = true
		v.Message = fmt.Sprintf("fits: %d uids and %d gids mapped", m.UIDs, m.GIDs)
		return v
	}
	var what string
	switch {
	case uidOver && gidOver && img.MaxUID != img.MaxGID:
		what = fmt.Sprintf("highest uid %d and gid %d need", img.MaxUID, img.MaxGID)
	case uidOver:
		what = fmt.Sprintf("highest uid %d needs", img.MaxUID)
	default:
		what = fmt.Sprintf("highest gid %d needs", img.MaxGID)
	}
	if v.SuggestedSize == 0 {
		v.Message = fmt.Sprintf("does not fit: %s more than any range can map", what)
		return v
	}
	v.Message = fmt.Sprintf("does not fit: %s --size %d (suggest --size %d, a multiple of %d)", what, v.NeededSize, v.SuggestedSize, MinSize)
	return v
}

// SizeFor is what `enable --size auto` uses: it scans the images named (all
// the daemon's images when refs is empty) and returns the mapping size that
// holds them all, a multiple of MinSize and at least MinSize, with the scans.
func SizeFor(ctx context.Context, s *Scanner, refs []string, src Source) (uint64, []Image, error) {
	var images []Image
	if len(refs) == 0 {
		all, err := s.ScanDaemonAll(ctx)
		if err != nil {
			return 0, nil, err
		}
		images = all
	}
	for _, ref := range refs {
		imgs, err := s.Scan(ctx, ref, src)
		if err != nil {
			return 0, nil, fmt.Errorf("check image %s: %w", ref, err)
		}
		images = append(images, imgs...)
	}
	var needed uint64 = 1
	for _, img := range images {
		needed = max(needed, img.Needed())
	}
	size := SuggestSize(needed)
	if size == 0 {
		return 0, images, fmt.Errorf("size for images: an id of %d cannot be mapped by any range", needed-1)
	}
	return size, images, nil
}
