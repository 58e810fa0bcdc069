// Package remap carries out the plugin's commands on a host: it reads the
// host files once, plans the change, writes it safely, restarts the daemon,
// verifies it through the API and rolls back when the daemon disagrees.
package remap

import (
	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerdflags"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Host paths of the subordinate id files.
const (
	SubUIDPath = "/etc/subuid"
	SubGIDPath = "/etc/subgid"
)

// Snapshot is what the host files say, read once per command.
type Snapshot struct {
	Root     hostfs.Root
	Accounts *accounts.DB
	SubUID   *subid.File
	SubGID   *subid.File
	// DaemonJSON is the daemon.json dockerd reads (an empty one when missing).
	DaemonJSON *daemonconfig.Config
	// Flags are dockerd's command-line flags from units, options files and
	// the running daemon.
	Flags *dockerdflags.Report
}

// ReadSnapshot reads every host file the commands need under root.
func ReadSnapshot(root hostfs.Root) (*Snapshot, error) {
	db, err := accounts.Load(root)
	if err != nil {
		return nil, err
	}
	subuid, err := subid.Load(root, SubUIDPath)
	if err != nil {
		return nil, err
	}
	subgid, err := subid.Load(root, SubGIDPath)
	if err != nil {
		return nil, err
	}
	flags, err := dockerdflags.Scan(root)
	if err != nil {
		return nil, err
	}
	cfg, _, err := daemonconfig.Load(root, flags.DaemonJSONPath())
	if err != nil {
		return nil, err
	}
	return &Snapshot{Root: root, Accounts: db, SubUID: subuid, SubGID: subgid, DaemonJSON: cfg, Flags: flags}, nil
}

// Setting is the userns-remap value dockerd will use and where it is set:
// a dockerd flag wins over daemon.json (dockerd refuses both at once).
// value is "" when neither sets it.
func (s *Snapshot) Setting() (value, source string, err error) {
	if flags := s.Flags.UsernsRemap; len(flags) > 0 {
		return flags[0].Value, "dockerd flag in " + flags[0].Where(), nil
	}
	value, set, err := s.DaemonJSON.UsernsRemap()
	if err != nil || !set {
		return "", "", err
	}
	return value, s.DaemonJSON.Path(), nil
}
