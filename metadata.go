// Package dockeruserns holds what the whole module shares: the plugin
// metadata, read from docker-cli-plugin-metadata.json so that the file stays
// the one source the binary answers from.
package dockeruserns

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/docker/cli/cli-plugins/metadata"
)

//go:embed docker-cli-plugin-metadata.json
var metadataJSON []byte

// version is the release's version, filled in at build time
// (-ldflags "-X github.com/docker-userns/docker-userns.version=..."; see
// scripts/version). Empty in a plain `go build`, which reports the file's.
var version string

// PluginMetadata returns the metadata the plugin reports to the docker CLI:
// the file's, with the version of the build when it was given one.
func PluginMetadata() metadata.Metadata {
	var m metadata.Metadata
	if err := json.Unmarshal(metadataJSON, &m); err != nil {
		// The file is embedded at build time; a broken one is a build defect.
		panic(fmt.Sprintf("parse docker-cli-plugin-metadata.json: %v", err))
	}
	if version != "" {
		m.Version = version
	}
	return m
}

// Version is the version this binary reports (PluginMetadata's).
func Version() string { return PluginMetadata().Version }
