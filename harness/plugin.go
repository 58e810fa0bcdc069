package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// PluginBuild builds the plugin once per test binary, for every test that
// wants it, into a temporary docker config directory (ConfigDir, whose
// cli-plugins holds it, so the real docker CLI finds it as it finds any
// installed plugin). TestMain calls Remove after m.Run, so nothing stays
// behind. The zero value is ready to use.
type PluginBuild struct {
	once      sync.Once
	configDir string
	err       error
}

// Path builds the plugin the first time and returns the binary's path.
func (b *PluginBuild) Path() (string, error) {
	b.once.Do(func() {
		if b.configDir, b.err = os.MkdirTemp("", "docker-userns-plugin"); b.err != nil {
			return
		}
		b.err = BuildPlugin(filepath.Join(b.configDir, "cli-plugins", "docker-userns"))
	})
	if b.err != nil {
		return "", b.err
	}
	return filepath.Join(b.configDir, "cli-plugins", "docker-userns"), nil
}

// ConfigDir builds the plugin the first time and returns the docker config
// directory that holds it (for `docker --config DIR` or DOCKER_CONFIG).
func (b *PluginBuild) ConfigDir() (string, error) {
	if _, err := b.Path(); err != nil {
		return "", err
	}
	return b.configDir, nil
}

// Remove deletes what the build made; call it once the tests are done.
func (b *PluginBuild) Remove() {
	if b.configDir != "" {
		os.RemoveAll(b.configDir)
	}
}
