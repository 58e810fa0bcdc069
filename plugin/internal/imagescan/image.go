package imagescan

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// Image is the scan of one image: the highest ids in any of its layers and
// a few of the entries that hold them.
type Image struct {
	Name   string `json:"name"`
	Source Source `json:"source"`
	// ID is the digest of the image config, when the source tells it.
	ID string `json:"id,omitempty"`
	// Tags are the names a docker save gives the image (manifest.json's
	// RepoTags), and Targets the digests of the manifests or indexes that
	// its index.json lists for it: with the containerd image store, a
	// daemon lists an image by that digest, not by its config's.
	Tags    []string `json:"-"`
	Targets []string `json:"-"`
	// Platforms counts the images (one per platform) saved under those
	// targets: more than one is a multi-platform image, of which
	// manifest.json names one.
	Platforms int `json:"-"`
	Layers    int `json:"layers"`
	// ZstdLayers counts the zstd-compressed layers (as the source stores
	// them: a daemon's save stream is never compressed).
	ZstdLayers int   `json:"zstdLayers,omitempty"`
	Entries    int64 `json:"entries"`
	MaxUID     int64 `json:"maxUID"`
	MaxGID     int64 `json:"maxGID"`
	// Holders are the first entries (base layer first) at MaxUID, then
	// those at MaxGID.
	Holders []Entry `json:"holders"`
}

// layerResult is one layer of an image, in order from the base.
type layerResult struct {
	digest string
	scan   LayerScan
}

// newImage folds the scans of an image's layers into one Image.
func newImage(name string, src Source, id string, layers []layerResult) Image {
	img := Image{Name: name, Source: src, ID: id, Layers: len(layers)}
	var uidHolders, gidHolders []Entry
	merge := func(max int64, holders []Entry, lmax int64, lholders []Entry, i int, digest string) (int64, []Entry) {
		if lmax < max || (lmax == max && len(holders) >= maxHolders) {
			return max, holders
		}
		if lmax > max {
			max, holders = lmax, nil
		}
		for _, e := range lholders {
			if len(holders) == maxHolders {
				break
			}
			e.Layer, e.LayerIndex = digest, i
			holders = append(holders, e)
		}
		return max, holders
	}
	for i, l := range layers {
		if l.scan.Compression == Zstd {
			img.ZstdLayers++
		}
		img.Entries += l.scan.Entries
		img.MaxUID, uidHolders = merge(img.MaxUID, uidHolders, l.scan.MaxUID, l.scan.UIDHolders, i, l.digest)
		img.MaxGID, gidHolders = merge(img.MaxGID, gidHolders, l.scan.MaxGID, l.scan.GIDHolders, i, l.digest)
	}
	img.Holders = append([]Entry{}, uidHolders...)
	for _, g := range gidHolders {
		dup := false
		for _, u := range uidHolders {
			if u.Path == g.Path && u.LayerIndex == g.LayerIndex {
				dup = true
				break
			}
		}
		if !dup {
			img.Holders = append(img.Holders, g)
		}
	}
	return img
}

// scanAll runs scan on every name with at most workers at once. Each worker
// holds one decompressor and one read buffer, so memory is bounded by
// workers, not by the number or size of the layers.
func scanAll(ctx context.Context, names []string, workers int, scan func(ctx context.Context, name string) (LayerScan, error)) (map[string]LayerScan, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		results = make(map[string]LayerScan, len(names))
		first   error
		wg      sync.WaitGroup
		next    = make(chan string)
	)
	for range min(workers, len(names)) {
		wg.Go(func() {
			for name := range next {
				s, err := scan(ctx, name)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("scan layer %s: %w", name, err)
					cancel()
				}
				results[name] = s
				mu.Unlock()
			}
		})
	}
	seen := map[string]bool{}
feed:
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		select {
		case next <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return results, ctx.Err()
}
