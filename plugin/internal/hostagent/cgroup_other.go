//go:build !linux

package hostagent

import "errors"

// cgroupProcsFiles: the agent runs on Linux hosts only.
func cgroupProcsFiles(membership, mounts []byte) ([]string, error) {
	return nil, errors.New("cgroups: Linux only")
}
