package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker-userns/docker-userns/harness/fixtureimage"
)

const (
	// RegistryAddr is where StartRegistry serves, on the container's
	// loopback: the inner daemon pulls from it without TLS, as it treats
	// 127.0.0.0/8 as insecure.
	RegistryAddr = "127.0.0.1:5000"
	// RegistryLogPath is where the registry fixture logs.
	RegistryLogPath = "/var/log/fixture-registry.log"

	fixtureToolPath = "/usr/local/bin/fixture-registry"
	fixturePackage  = "github.com/docker-userns/docker-userns/harness/cmd/fixture-registry"
)

var (
	fixtureMu   sync.Mutex
	fixtureTool string
)

// fixtureBinary builds the registry fixture as a static binary once per
// process (go build's cache makes later processes quick). All processes
// share one file, replaced by rename, so nothing piles up in the temp dir.
func fixtureBinary(ctx context.Context) (string, error) {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if fixtureTool != "" {
		return fixtureTool, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("docker-userns-harness-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("build registry fixture: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("build registry fixture: %w", err)
	}
	defer os.RemoveAll(tmp)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, serr := os.Stat(goTool); serr != nil {
			return "", fmt.Errorf("build registry fixture: go tool not in PATH: %w", err)
		}
	}
	out := filepath.Join(tmp, "fixture-registry")
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", out, fixturePackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build registry fixture: go build %s: %w: %s", fixturePackage, err, strings.TrimSpace(string(b)))
	}
	final := filepath.Join(dir, "fixture-registry")
	if err := os.Rename(out, final); err != nil {
		return "", fmt.Errorf("build registry fixture: %w", err)
	}
	fixtureTool = final
	return final, nil
}

// copyFixtureTool puts the registry fixture binary into the container once.
func (d *DinD) copyFixtureTool(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.toolsCopied {
		return nil
	}
	bin, err := fixtureBinary(ctx)
	if err != nil {
		return err
	}
	if err := d.CopyFile(ctx, bin, fixtureToolPath, 0o755); err != nil {
		return err
	}
	d.toolsCopied = true
	return nil
}

// StartRegistry starts the registry fixture (go-containerregistry's
// in-memory registry) in the background on RegistryAddr inside the
// container and waits until it answers. Its images live until the
// container goes.
func (d *DinD) StartRegistry(ctx context.Context) error {
	if err := d.copyFixtureTool(ctx); err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	serve := fmt.Sprintf("exec %s serve --addr %s >>%s 2>&1", fixtureToolPath, RegistryAddr, RegistryLogPath)
	if err := d.execDetached(ctx, "sh", "-c", serve); err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, err := d.ExecOK(ctx, fixtureToolPath, "ping", "--addr", RegistryAddr)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start registry: not answering on %s: %w (log: %s)", RegistryAddr, err, RegistryLogPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PushImage builds a one-layer image holding files (owners and modes as
// given, e.g. {Path: "/etc/x", UID: 70000, GID: 70000}) and pushes it to
// ref, e.g. RegistryAddr + "/high:latest". It returns the pushed
// repository@digest. File contents are the default one line naming the
// file: Content is not carried into the container.
func (d *DinD) PushImage(ctx context.Context, ref string, files ...fixtureimage.File) (string, error) {
	if len(files) == 0 {
		return "", fmt.Errorf("push image %s: no files", ref)
	}
	for _, f := range files {
		if f.Content != nil {
			return "", fmt.Errorf("push image %s: file %s: Content is not supported, only owners and modes", ref, f.Path)
		}
	}
	if err := d.copyFixtureTool(ctx); err != nil {
		return "", fmt.Errorf("push image %s: %w", ref, err)
	}
	cmd := []string{fixtureToolPath, "push", "--ref", ref}
	for _, f := range files {
		cmd = append(cmd, "--file", f.String())
	}
	out, err := d.ExecOK(ctx, cmd...)
	if err != nil {
		return "", fmt.Errorf("push image %s: %w", ref, err)
	}
	return strings.TrimSpace(out), nil
}
