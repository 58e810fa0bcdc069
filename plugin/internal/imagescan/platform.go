package imagescan

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
)

// VersionAPI is the part of the Docker API that tells a daemon's platform.
type VersionAPI interface {
	ServerVersion(ctx context.Context, opts client.ServerVersionOptions) (client.ServerVersionResult, error)
}

// PlatformFor is the image of a multi-platform index a registry scan
// reads: flag (--platform, "os/arch[/variant]") when given, else the one
// the daemon would pull, its own OS and architecture (GET /version: Os and
// Arch are the daemon's runtime.GOOS and GOARCH, moby daemon/info.go
// SystemVersion in 20.10.24 and 28.5.2; no variant, so any variant of
// that architecture matches). Without an answer from the daemon it is
// the zero Platform, which the Scanner takes as this machine's.
func PlatformFor(ctx context.Context, api VersionAPI, flag string) (v1.Platform, error) {
	if flag != "" {
		p, err := v1.ParsePlatform(flag)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return v1.Platform{}, fmt.Errorf("invalid --platform %q: want os/arch[/variant], as linux/arm64", flag)
		}
		return *p, nil
	}
	if api == nil {
		return v1.Platform{}, nil
	}
	v, err := api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil || v.Os == "" || v.Arch == "" {
		return v1.Platform{}, nil
	}
	return v1.Platform{OS: v.Os, Architecture: v.Arch}, nil
}
