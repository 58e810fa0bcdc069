package imagefit

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// MappingFor is what check-image judges images against: size ids when size
// is above 0, the subordinate ranges of user (USER[:GROUP]) as the daemon's
// version reads them when user is set, else the mapping in force on the
// daemon; nil with the reason (ErrUnknown) when that is unknown.
// Host files are looked up under root.
func MappingFor(ctx context.Context, api client.APIClient, root string, size uint64, user string) (*imagescan.Mapping, error) {
	switch {
	case size > 0:
		return &imagescan.Mapping{Remapped: true, UIDs: size, GIDs: size, From: "--size"}, nil
	case user != "":
		version := ""
		if v, err := api.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
			version = v.Version
		}
		m, err := ForUser(root, user, version)
		if err != nil {
			return nil, err
		}
		return &m, nil
	}
	info, err := api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w (ask the daemon: %v)", ErrUnknown, err)
	}
	m, err := ForDaemon(info.Info.SecurityOptions, info.Info.DockerRootDir, info.Info.ServerVersion, root)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// MappingFromStatus is the mapping in force on a host as its status says
// (remap.Status, read by a helper container there: this machine's files
// say nothing of another host's ranges); nil with the reason
// (ErrUnknown) when the status could not be read (readErr) or
// does not tell.
func MappingFromStatus(st remap.Status, readErr error) (*imagescan.Mapping, error) {
	const from = "the host's status"
	switch {
	case readErr != nil:
		return nil, fmt.Errorf("%w (the status of the daemon's host: %v)", ErrUnknown, readErr)
	case st.Daemon == nil:
		return nil, fmt.Errorf("%w (%s)", ErrUnknown, st.DaemonError)
	case !st.Daemon.Remapped:
		return &imagescan.Mapping{From: from, DaemonVersion: st.Daemon.Version}, nil
	case st.UIDMap.Size() == 0 || st.GIDMap.Size() == 0:
		return nil, fmt.Errorf("%w (the host's status shows no id map)", ErrUnknown)
	}
	return &imagescan.Mapping{Remapped: true, UIDs: st.UIDMap.Size(), GIDs: st.GIDMap.Size(), From: from, DaemonVersion: st.Daemon.Version}, nil
}
