package daemon

import (
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"runtime/debug"
	"strings"
	"syscall"
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
// asked: one whose build info names its version is not even started). Under a root that is not "/" (the host at /host in a helper, a
// test tree) dockerd runs chrooted there, so it is the host's binary with
// the host's libraries. A root without a dockerd is not asked. Only a
// refusal is an error (ErrConfigRefused); a dockerd that could not be asked
// leaves the verdict to the restart and its revert, as before --validate.
//
// Nothing of a tree (hostfs.OpenTree) is run: it returns nil at once.
func ValidateConfig(ctx context.Context, root hostfs.Root, config []byte) error {
	if root.Tree() {
		return nil
	}
	binary := ""
	for _, p := range dockerdPaths {
		if info, err := root.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			binary = p
			break
		}
	}
	if binary == "" || !canValidate(root, binary) {
		return nil
	}
	tmp, remove, err := tempConfig(root, config)
	if err != nil {
		return fmt.Errorf("validate daemon.json: %w", err)
	}
	defer remove()
	ctx, cancel := context.WithTimeout(ctx, validateTimeout)
	defer cancel()
	args := []string{binary, "--validate", "--config-file", tmp}
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

// tempConfig writes config to a new file in the host's /run, made inside
// the root (a /run that is a link resolves there, never outside), and
// returns its host path.
func tempConfig(root hostfs.Root, config []byte) (string, func(), error) {
	dir, err := root.Resolve("/run")
	if err != nil {
		return "", nil, err
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", nil, err
	}
	p := path.Join(dir, "docker-userns-validate-"+hex.EncodeToString(suffix[:])+".json")
	// O_EXCL with O_CREATE never follows a link at p (open(2)).
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, err
	}
	remove := func() { _ = os.Remove(root.Path(p)) }
	if _, err := f.Write(config); err != nil {
		f.Close()
		remove()
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		remove()
		return "", nil, err
	}
	return p, remove, nil
}

// canValidate is false for a dockerd that says it is older than the
// --validate flag: moby's cmd/dockerd/options.go installFlags has it from
// v22.06.0-beta.0 on (released as 23.0), not in v20.10.24. Starting one only
// to hear "unknown flag" costs half a second on a busy host. The version is
// the -X .../dockerversion.Version= of the -ldflags its Go build info keeps
// (Debian's 20.10 packages); a build that does not keep it (-trimpath, as
// 26.1 and 28.5 are) is asked.
func canValidate(root hostfs.Root, binary string) bool {
	f, err := root.OpenFile(binary, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	info, err := buildinfo.Read(f)
	if err != nil {
		return true
	}
	return hasValidateFlag(info)
}

// hasValidateFlag: a dockerd built as version 22 or newer, or not saying.
func hasValidateFlag(info *debug.BuildInfo) bool {
	major, ok := MajorVersion(builtVersion(info))
	return !ok || major >= 22
}

// builtVersion is the version in a dockerd's -ldflags build setting, "" if
// none is there.
func builtVersion(info *debug.BuildInfo) string {
	const key = "/dockerversion.Version="
	for _, s := range info.Settings {
		if s.Key != "-ldflags" {
			continue
		}
		_, after, found := strings.Cut(s.Value, key)
		if !found {
			return ""
		}
		after = strings.TrimLeft(after, `"`)
		if end := strings.IndexAny(after, "\" \t"); end >= 0 {
			after = after[:end]
		}
		return after
	}
	return ""
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
