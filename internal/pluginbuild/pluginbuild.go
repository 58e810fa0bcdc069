// Package pluginbuild builds the plugin from source for tests, as `make
// build` does. It needs Go and nothing else (no Docker), so that unit
// tests and the harness alike can build the binary they run.
package pluginbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// PluginPackage is the import path of the plugin's main package.
const PluginPackage = "github.com/docker-userns/docker-userns/plugin"

// ProbeProgramPackage is the small probe program the plugin embeds.
const ProbeProgramPackage = PluginPackage + "/internal/probe/cmd/docker-userns-probe"

// Plugin builds the plugin at path as `make build` does: static
// (CGO_ENABLED=0), since probe and helper images hold nothing but a
// binary, with the small probe program built first into the source tree
// (plugin/internal/probe/embedded), where the plugin embeds it from.
// Tags are Go build tags (testhooks: the pause points e2e tests use).
func Plugin(path string, tags ...string) error {
	if err := buildProbeProgram(); err != nil {
		return err
	}
	return Static(path, PluginPackage, tags...)
}

// buildProbeProgram builds the small probe program next to a temporary
// name and renames it into place: test binaries build the plugin at the
// same time, and a build must embed a whole file. The temporary name
// starts with a dot, which go:embed leaves out.
func buildProbeProgram() error {
	// -e: before the program is there, the package does not build (its
	// go:embed finds nothing), which is what this is about to fix.
	dir, err := exec.Command("go", "list", "-e", "-f", "{{.Dir}}", PluginPackage+"/internal/probe").Output()
	if err != nil {
		return fmt.Errorf("build probe program: find its directory: %w", err)
	}
	// For Linux on this machine's architecture, as `make build` names it.
	final := filepath.Join(strings.TrimSpace(string(dir)), "embedded", "docker-userns-probe-linux-"+runtime.GOARCH)
	tmp, err := os.CreateTemp(filepath.Dir(final), ".docker-userns-probe-")
	if err != nil {
		return fmt.Errorf("build probe program: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := Static(tmp.Name(), ProbeProgramPackage); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

// Static builds pkg as a static binary at path, with the build tags.
func Static(path, pkg string, tags ...string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", strings.Join(tags, ","), "-o", path, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w: %s", pkg, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Once builds the plugin once per test binary, for every test that
// wants it, into a temporary docker config directory (ConfigDir, whose
// cli-plugins holds it, so the real docker CLI finds it as it finds any
// installed plugin). TestMain calls Remove after m.Run, so nothing stays
// behind. The zero value is ready to use.
type Once struct {
	// Tags are the build tags (Plugin).
	Tags      []string
	once      sync.Once
	configDir string
	err       error
}

// Path builds the plugin the first time and returns the binary's path.
func (b *Once) Path() (string, error) {
	b.once.Do(func() {
		if b.configDir, b.err = os.MkdirTemp("", "docker-userns-plugin"); b.err != nil {
			return
		}
		b.err = Plugin(filepath.Join(b.configDir, "cli-plugins", "docker-userns"), b.Tags...)
	})
	if b.err != nil {
		return "", b.err
	}
	return filepath.Join(b.configDir, "cli-plugins", "docker-userns"), nil
}

// ConfigDir builds the plugin the first time and returns the docker config
// directory that holds it (for `docker --config DIR` or DOCKER_CONFIG).
func (b *Once) ConfigDir() (string, error) {
	if _, err := b.Path(); err != nil {
		return "", err
	}
	return b.configDir, nil
}

// Remove deletes what the build made; call it once the tests are done.
func (b *Once) Remove() {
	if b.configDir != "" {
		os.RemoveAll(b.configDir)
	}
}
