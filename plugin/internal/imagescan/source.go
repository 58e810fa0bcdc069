package imagescan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
)

// Source is where an image is read from.
type Source string

const (
	// SourceAuto reads an existing path as a file, else the daemon's
	// image, else the registry's.
	SourceAuto     Source = "auto"
	SourceDaemon   Source = "daemon"
	SourceRegistry Source = "registry"
	SourceFile     Source = "file"
)

// ParseSource checks a --source value.
func ParseSource(s string) (Source, error) {
	switch src := Source(s); src {
	case SourceAuto, SourceDaemon, SourceRegistry, SourceFile:
		return src, nil
	}
	return "", fmt.Errorf("parse source %q: want auto, daemon, registry or file", s)
}

// DaemonAPI is the part of the Docker API client the scanner uses; the
// docker CLI's Client() is one.
type DaemonAPI interface {
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	ImageList(ctx context.Context, opts client.ImageListOptions) (client.ImageListResult, error)
}

// Scanner reads images from the daemon, a registry or files.
type Scanner struct {
	// Daemon is the Docker API; nil leaves the daemon out.
	Daemon DaemonAPI
	// Keychain gives registry credentials; nil uses the docker CLI's
	// (authn.DefaultKeychain: config.json and its credential helpers).
	Keychain authn.Keychain
	// Platform picks the image of a multi-platform index in a registry;
	// empty means linux and this binary's architecture.
	Platform v1.Platform
	// Workers bounds the layers scanned at once (0: GOMAXPROCS).
	Workers int
	// RemoteOptions are added to every registry call (tests: transport).
	RemoteOptions []remote.Option
}

// Scan reads ref from src. A file may hold several images; the others give
// one.
func (s *Scanner) Scan(ctx context.Context, ref string, src Source) ([]Image, error) {
	switch src {
	case SourceFile:
		return ScanPath(ctx, ref, s.Workers)
	case SourceDaemon:
		return s.ScanDaemon(ctx, ref)
	case SourceRegistry:
		img, err := s.ScanRegistry(ctx, ref)
		if err != nil {
			return nil, err
		}
		return []Image{img}, nil
	case SourceAuto, "":
	default:
		return nil, fmt.Errorf("scan %s: unknown source %q", ref, src)
	}
	if _, err := os.Stat(ref); err == nil {
		return ScanPath(ctx, ref, s.Workers)
	}
	var daemonErr error
	if s.Daemon != nil {
		_, daemonErr = s.Daemon.ImageInspect(ctx, ref)
		if daemonErr == nil {
			return s.ScanDaemon(ctx, ref)
		}
	}
	img, err := s.ScanRegistry(ctx, ref)
	if err != nil {
		if daemonErr != nil && !errdefs.IsNotFound(daemonErr) {
			return nil, fmt.Errorf("%w (and the daemon: %v)", err, daemonErr)
		}
		return nil, err
	}
	return []Image{img}, nil
}

// ScanDaemon streams `docker save` of ref from the daemon, scanning each
// layer as it passes; nothing is written to disk.
func (s *Scanner) ScanDaemon(ctx context.Context, ref string) ([]Image, error) {
	images, err := s.saveAndScan(ctx, []string{ref})
	if err != nil {
		return nil, err
	}
	for i := range images {
		images[i].Name = ref
	}
	return images, nil
}

// ScanDaemonAll scans every image the daemon holds in one save stream, so
// layers shared by several images are read once.
func (s *Scanner) ScanDaemonAll(ctx context.Context) ([]Image, error) {
	if s.Daemon == nil {
		return nil, errors.New("scan daemon images: no daemon")
	}
	list, err := s.Daemon.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list daemon images: %w", err)
	}
	var ids []string
	names := map[string]string{}
	for _, sum := range list.Items {
		ids = append(ids, sum.ID)
		names[sum.ID] = sum.ID
		if len(sum.RepoTags) > 0 && sum.RepoTags[0] != "<none>:<none>" {
			names[sum.ID] = sum.RepoTags[0]
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	images, err := s.saveAndScan(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range images {
		if n, ok := names[images[i].ID]; ok && images[i].Name == images[i].ID {
			images[i].Name = n
		}
	}
	return images, nil
}

func (s *Scanner) saveAndScan(ctx context.Context, refs []string) ([]Image, error) {
	if s.Daemon == nil {
		return nil, errors.New("scan daemon image: no daemon")
	}
	rc, err := s.Daemon.ImageSave(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("save %s from the daemon: %w", refs[0], err)
	}
	defer rc.Close()
	images, err := ScanSaveStream(ctx, rc, SourceDaemon)
	if err != nil {
		return nil, fmt.Errorf("read %s from the daemon: %w", refs[0], err)
	}
	return images, nil
}

// ScanRegistry reads ref's layers from its registry without pulling it into
// the daemon, with the docker CLI's credentials.
func (s *Scanner) ScanRegistry(ctx context.Context, ref string) (Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return Image{}, fmt.Errorf("parse reference %s: %w", ref, err)
	}
	kc := s.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	platform := s.Platform
	if platform.OS == "" {
		platform = v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(platform)}, s.RemoteOptions...)
	img, err := remote.Image(r, opts...)
	if err != nil {
		return Image{}, fmt.Errorf("read %s from the registry: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return Image{}, fmt.Errorf("read %s layers: %w", ref, err)
	}
	digests := make([]string, len(layers))
	byDigest := map[string]v1.Layer{}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return Image{}, fmt.Errorf("read %s layer %d: %w", ref, i, err)
		}
		digests[i] = d.String()
		byDigest[d.String()] = l
	}
	scans, err := scanAll(ctx, digests, s.Workers, func(_ context.Context, d string) (LayerScan, error) {
		rc, err := byDigest[d].Compressed()
		if err != nil {
			return LayerScan{}, err
		}
		defer rc.Close()
		return ScanLayer(rc)
	})
	if err != nil {
		return Image{}, fmt.Errorf("read %s: %w", ref, err)
	}
	results := make([]layerResult, len(digests))
	for i, d := range digests {
		results[i] = layerResult{digest: d, scan: scans[d]}
	}
	var id string
	if cn, err := img.ConfigName(); err == nil {
		id = cn.String()
	}
	return newImage(ref, SourceRegistry, id, results), nil
}

// ForDaemon is a Scanner that reads images as api's daemon would get them:
// its own images, and of a multi-platform registry image the platform that
// flag names, else the daemon's own (PlatformFor; a flag that does not
// parse counts as none, so check it first).
func ForDaemon(ctx context.Context, api DaemonAPI, keychain authn.Keychain, flag string) *Scanner {
	s := &Scanner{Daemon: api, Keychain: keychain}
	version, _ := api.(VersionAPI)
	s.Platform, _ = PlatformFor(ctx, version, flag)
	return s
}
