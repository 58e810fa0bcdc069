package harness

import (
	"context"
	"fmt"
	"io"
	"io/fs"
)

// CopyFile copies the host file at hostPath to containerPath with mode,
// owned by root; missing parent directories are created.
func (d *DinD) CopyFile(ctx context.Context, hostPath, containerPath string, mode fs.FileMode) error {
	if err := d.CopyFileToContainer(ctx, hostPath, containerPath, int64(mode.Perm())); err != nil {
		return fmt.Errorf("copy %s to container %s: %w", hostPath, containerPath, err)
	}
	return nil
}

// WriteFile writes content to containerPath with mode, owned by root,
// replacing any file there; missing parent directories are created.
func (d *DinD) WriteFile(ctx context.Context, containerPath string, content []byte, mode fs.FileMode) error {
	if useAgent() {
		if err := d.agentWrite(ctx, containerPath, content, mode); err != nil {
			return fmt.Errorf("write container file %s: %w", containerPath, err)
		}
		return nil
	}
	if err := d.CopyToContainer(ctx, content, containerPath, int64(mode.Perm())); err != nil {
		return fmt.Errorf("write container file %s: %w", containerPath, err)
	}
	return nil
}

// ReadFile returns the content of the container's file at path.
func (d *DinD) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if useAgent() {
		out, err := d.ExecOK(ctx, "cat", "--", path)
		if err != nil {
			return nil, fmt.Errorf("read container file %s: %w", path, err)
		}
		return []byte(out), nil
	}
	rc, err := d.CopyFileFromContainer(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read container file %s: %w", path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read container file %s: %w", path, err)
	}
	return b, nil
}
