// Command docker-userns-probe is the small probe program (inside.Main) that
// `make build` embeds in the plugin: a probe image made of it imports in a
// fraction of the time an image of the plugin's own binary takes.
package main

import (
	"os"

	"github.com/docker-userns/docker-userns/plugin/internal/probe/inside"
)

func main() {
	os.Exit(inside.Main(os.Args[1:], os.Stdout, os.Stderr))
}
