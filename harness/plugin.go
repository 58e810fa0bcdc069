package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// PluginPackage is the import path of the plugin's main package.
const PluginPackage = "github.com/docker-userns/docker-userns/plugin"

// BuildPlugin builds the plugin at path as `make build` does: static
// (CGO_ENABLED=0), since probe images hold nothing but this binary.
func BuildPlugin(path string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", path, PluginPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build plugin: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
