package harness

import (
	"context"
	"fmt"
	"strings"
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

// copyFixtureTool puts the registry fixture binary into the container once.
func (d *DinD) copyFixtureTool(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.toolsCopied {
		return nil
	}
	bin, err := toolBinary(ctx, fixturePackage)
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
