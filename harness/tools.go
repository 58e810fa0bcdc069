package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

var (
	toolMu    sync.Mutex
	toolPaths = map[string]string{}
)

// toolBinary builds the harness's main package pkg (the registry fixture,
// the exec agent) as a static binary once per process (go build's cache
// makes later processes quick), for copying into DinD containers. All
// processes share one file per tool, replaced by rename, so nothing piles
// up in the temp dir.
func toolBinary(ctx context.Context, pkg string) (string, error) {
	toolMu.Lock()
	defer toolMu.Unlock()
	if p, ok := toolPaths[pkg]; ok {
		return p, nil
	}
	name := path.Base(pkg)
	dir, err := harnessTempDir()
	if err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, serr := os.Stat(goTool); serr != nil {
			return "", fmt.Errorf("build %s: go tool not in PATH: %w", name, err)
		}
	}
	out := filepath.Join(tmp, name)
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: go build %s: %w: %s", name, pkg, err, strings.TrimSpace(string(b)))
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(out, final); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	toolPaths[pkg] = final
	return final, nil
}
