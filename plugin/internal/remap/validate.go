package remap

import (
	"bytes"
	"context"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
)

// validateDaemonJSON has the host's own dockerd check the daemon.json about
// to be written (`dockerd --validate`, Docker 23 and newer), so that a
// config dockerd would refuse never costs a restart and a revert. The
// userns-remap key is left out of what it checks: with it, --validate
// already reads /etc/subuid, which still lacks the ranges written in the
// same change ("Can't create ID mappings: no subuid ranges found for user",
// seen on 26.1.5); the idmap model checks the key and the ranges instead.
func validateDaemonJSON(ctx context.Context, env Env, changes hostchange.Set, path string) error {
	for _, c := range changes {
		if c.Path != path || bytes.Equal(c.Old, c.New) {
			continue
		}
		cfg, err := daemonconfig.Parse(path, c.New)
		if err != nil {
			return err
		}
		if err := daemon.ValidateConfig(ctx, env.Root, cfg.Remove(daemonconfig.UsernsRemap)); err != nil {
			return fmt.Errorf("%s as enable would write it: %w (nothing written)", path, err)
		}
	}
	return nil
}
