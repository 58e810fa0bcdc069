package remap

import (
	"bytes"
	"context"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
)

// validateDaemonJSON has the host's own dockerd check the daemon.json about
// to be written (`dockerd --validate`, Docker 23 and newer), so that a
// config dockerd would refuse never costs a restart and a revert.
func validateDaemonJSON(ctx context.Context, env Env, changes hostchange.Set, path string) error {
	for _, c := range changes {
		if c.Path != path || bytes.Equal(c.Old, c.New) {
			continue
		}
		if _, err := daemon.ValidateConfig(ctx, env.Root, c.New); err != nil {
			return fmt.Errorf("%s as enable would write it: %w (nothing written)", path, err)
		}
	}
	return nil
}
