package probe

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/probe/inside"
)

// Command is the hidden first argument that makes the plugin binary act as
// the probe inside a container instead of as a CLI.
const Command = "__probe"

// Main runs the probe's actions (inside.Main) in the plugin's own binary.
func Main(args []string, stdout, stderr io.Writer) int { return inside.Main(args, stdout, stderr) }

// IDMaps is what the kernel says about the probe's user namespace.
type IDMaps = inside.IDMaps

// DecodeIDMaps reads the output of the idmap action.
func DecodeIDMaps(out string) (IDMaps, error) { return inside.DecodeIDMaps(out) }

// SmallProgram is the embedded probe programs' name in embedded/, with
// -linux-ARCH after it: `make build` puts this machine's architecture's
// there, `make release` amd64's and arm64's (see embedded/README.md).
const SmallProgram = "docker-userns-probe"

// The small probe programs are built, not committed (2 MB each): run
// `make build` (or `make release`), which builds one into embedded/ before
// the plugin. A build without any fails here, "pattern ...: no matching
// files found", rather than ship a plugin that quietly makes every probe
// image of its own 20 MB binary: the compiler is the one check that no
// build path (go build, go vet, go test, an IDE) can skip, and the error
// points at this line. A build tag to opt out would be one more way to
// ship the slow plugin by accident; a go:generate step runs only when
// asked, so it would not close the gap either.
//
//go:embed embedded/docker-userns-probe-linux-*
var embedded embed.FS

// smallPrograms are the embedded probe programs by architecture, nil for
// one this plugin was built without. Read on first use: ReadFile copies
// its 2 MB, which every start of the plugin (each docker CLI call runs it
// at least once) would pay for nothing.
var smallPrograms = sync.OnceValue(func() map[string][]byte {
	progs := map[string][]byte{}
	for _, arch := range []string{"amd64", "arm64"} {
		if b, err := embedded.ReadFile("embedded/" + smallProgramName(arch)); err == nil && len(b) > 0 {
			progs[arch] = b
		}
	}
	return progs
})

// HasSmallProgram tells whether this plugin carries the small probe
// program for its own architecture.
func HasSmallProgram() bool { return smallPrograms()[runtime.GOARCH] != nil }

// BuildSmall imports a probe image for the daemon's platform: of the small
// probe program for it when this plugin carries one (2 MB instead of the
// plugin's 20: the import is most of a probe's cost, paid on every
// verification), else of the plugin binary for it (HelperFor binary, the
// plugin's own). Both answer the same actions (inside.Main).
func BuildSmall(ctx context.Context, api client.APIClient, binary string, extra ...File) (Image, error) {
	p, err := DaemonPlatform(ctx, api)
	if err != nil {
		return Image{}, fmt.Errorf("build probe image: %w", err)
	}
	small := smallPrograms()[p.Arch]
	if small == nil || p.OS != "linux" {
		return buildFor(ctx, api, p, binary, extra)
	}
	return build(ctx, api, program{content: bytes.NewReader(small), size: int64(len(small))}, extra)
}

// program is the one executable of a probe image, at BinaryPath; args
// come first on its entrypoint.
type program struct {
	content io.Reader
	size    int64
	args    []string
}

// openProgram is the plugin binary at path as a probe image's program.
func openProgram(path string) (program, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return program{}, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return program{}, nil, err
	}
	return program{content: f, size: st.Size(), args: []string{Command}}, f, nil
}
