package probe

import (
	"bytes"
	"context"
	"embed"
	"io"
	"os"
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

// SmallProgram is the embedded probe program's name in embedded/, where
// `make build` puts it (see embedded/README.md).
const SmallProgram = "docker-userns-probe"

//go:embed embedded
var embedded embed.FS

// smallProgram is the embedded probe program, nil in a plugin built
// without it. Read on first use: ReadFile copies its 2 MB, which every
// start of the plugin (each docker CLI call runs it at least once) would
// pay for nothing.
var smallProgram = sync.OnceValue(func() []byte {
	b, err := embedded.ReadFile("embedded/" + SmallProgram)
	if err != nil || len(b) == 0 {
		return nil
	}
	return b
})

// HasSmallProgram tells whether this plugin carries the small probe program.
func HasSmallProgram() bool { return smallProgram() != nil }

// BuildSmall imports a probe image: of the small probe program when this
// plugin carries it (2 MB instead of the plugin's 20: the import is most of
// a probe's cost, paid on every verification), else of binary, the
// plugin's own. Both answer the same actions (inside.Main).
func BuildSmall(ctx context.Context, api client.APIClient, binary string, extra ...File) (Image, error) {
	small := smallProgram()
	if small == nil {
		return Build(ctx, api, binary, extra...)
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
