package remap

import (
	"context"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// sameHost refuses, before any write, to edit this machine's files for a
// daemon that runs elsewhere (issue 12 case 7): a socket forwarded from
// another machine, or --via local on the wrong host. It checks only the
// real host (a --root tree is the operator's choice; a helper edits the
// daemon's own host); a daemon that does not answer is left to the command.
func sameHost(ctx context.Context, env Env) error {
	if !env.Root.IsHost() || env.InHelper || env.API == nil {
		return nil
	}
	id, err := target.IdentityOf(ctx, env.API)
	if err != nil {
		return nil
	}
	if err := target.CheckSameHost(env.Root, id, target.Hostname()); err != nil {
		return fmt.Errorf("%w: editing this machine's files would not change it (use --via daemon to go through it)", err)
	}
	return nil
}
