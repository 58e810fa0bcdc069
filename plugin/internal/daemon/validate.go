package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// dockerdPaths are where distributions install dockerd (Debian: /usr/sbin).
var dockerdPaths = []string{"/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd"}

// validateTimeout bounds `dockerd --validate`, which only parses.
const validateTimeout = 30 * time.Second

// ErrConfigRefused means the host's dockerd would not start with the config.
var ErrConfigRefused = errors.New("dockerd refuses the new daemon.json")

// ValidateConfig asks the host's own dockerd whether it would start with
// config as its daemon.json: `dockerd --validate --config-file F` (Docker 23
// and newer; older ones answer "unknown flag: --validate", and are not
// asked). Under a root that is not "/" (the host at /host in a helper, a
// test tree) dockerd runs chrooted there, so it is the host's binary with
// the host's libraries. A root without a dockerd is not asked. Only a
// refusal is an error (ErrConfigRefused); a dockerd that could not be asked
// leaves the verdict to the restart and its revert, as before --validate.
func ValidateConfig(ctx context.Context, root hostfs.Root, config []byte) error {
	binary := ""
	for _, p := range dockerdPaths {
		if info, err := root.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			binary = p
			break
		}
	}
	if binary == "" {
		return nil
	}
	tmp, err := os.CreateTemp(root.Path("/run"), "docker-userns-validate-*.json")
	if err != nil {
		return fmt.Errorf("validate daemon.json: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(config); err != nil {
		tmp.Close()
		return fmt.Errorf("validate daemon.json: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("validate daemon.json: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	args := []string{binary, "--validate", "--config-file", "/run/" + filepath.Base(tmp.Name())}
	if !root.IsHost() {
		args = append([]string{"chroot", root.Dir()}, args...)
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err == nil {
		return nil
	}
	text := strings.TrimSpace(string(out))
	if strings.Contains(text, "unknown flag: --validate") {
		return nil // Docker before 23 cannot be asked
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return nil // did not run (no chroot, killed by the timeout): not a verdict
	}
	return fmt.Errorf("%w: %s", ErrConfigRefused, reasonIn(text))
}

// reasonIn picks dockerd's reason from its --validate output: the last line
// that is not a log line (`time="..." level=info msg=...`), where dockerd
// prints the error it exits with.
func reasonIn(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "time=") {
			return l
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}
