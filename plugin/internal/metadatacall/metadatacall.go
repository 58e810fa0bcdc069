// Package metadatacall answers the docker CLI's metadata call
// (`docker-userns docker-cli-plugin-metadata`, which the CLI runs before
// every start of the plugin, and for each plugin in `docker info` and
// `docker --help`) from its init, then exits: before the packages that
// docker/cli's command package brings (grpc, OpenTelemetry, protobuf) are
// initialised. The main package imports it for that side effect alone.
//
// Go runs every package's init before main, so the answer cannot wait for
// main; but it initialises packages in the order of their import paths,
// each as soon as its own imports are (the spec's "Package
// initialization", Go 1.21 and later), and this package's path sorts
// before github.com/docker/cli, go.opentelemetry.io and google.golang.org
// with only the standard library and the module's root package below it.
// TestMetadataCallInitialisesLittle (plugin/cli_test.go) keeps it so.
package metadatacall

import (
	"encoding/json"
	"io"
	"os"

	"github.com/docker/cli/cli-plugins/metadata"

	dockeruserns "github.com/docker-userns/docker-userns"
)

func init() {
	// Exactly the CLI's call (docker/cli cli-plugins/manager, candidate's
	// Metadata: exec of the binary with this one argument). Anything more
	// goes to the plugin framework as before.
	if len(os.Args) != 2 || os.Args[1] != metadata.MetadataSubcommandName {
		return
	}
	if err := write(os.Stdout); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// write prints the plugin's metadata as the plugin framework's hidden
// subcommand does (docker/cli cli-plugins/plugin, newMetadataSubcommand).
func write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "     ")
	return enc.Encode(dockeruserns.PluginMetadata())
}
