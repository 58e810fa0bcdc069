package remap

import (
	"bytes"
	"context"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
)

// validation has the host's own dockerd check the daemon.json about to be
// written (`dockerd --validate`, Docker 23 and newer), so that a config
// dockerd would refuse never costs a restart and a revert. It runs while
// enable's other checks do: a fork of dockerd is the slowest of them (half
// a second on a busy host). The userns-remap key is left out of what it
// checks: with it, --validate already reads /etc/subuid, which still lacks
// the ranges written in the same change ("Can't create ID mappings: no
// subuid ranges found for user", seen on 26.1.5; "error creating ID
// mappings: ..." from 29.7, moby daemon/daemon_unix.go,
// setupRemappedRoot, at v2.0.0-beta.24, PR #53009); the idmap model checks
// the key and the ranges instead. Without that key the file checked does
// not depend on the plan, so it can start as soon as the host is read.
//
// Nothing is run by a dry run, nor under a tree (--root DIR that is not
// this machine's root): the tree's dockerd run as this machine's root could
// act outside the tree, and this machine's own dockerd may be of another
// version than the tree's. skipped then says so.
type validation struct {
	done    chan struct{}
	err     error
	cancel  context.CancelFunc
	skipped []string
}

// startValidation checks the daemon.json at path that would replace old
// with new, meanwhile; an unchanged one is not checked.
func startValidation(ctx context.Context, env Env, dryRun bool, path string, old, new []byte) *validation {
	ctx, cancel := context.WithCancel(ctx)
	v := &validation{done: make(chan struct{}), cancel: cancel}
	switch {
	case bytes.Equal(old, new):
	case env.Root.Tree():
		v.skipped = []string{"dockerd --validate: nothing of a tree is run"}
	case dryRun:
		v.skipped = []string{"dockerd --validate: a dry run runs nothing"}
	}
	if v.skipped != nil {
		close(v.done)
		return v
	}
	go func() {
		defer close(v.done)
		if bytes.Equal(old, new) {
			return
		}
		cfg, err := daemonconfig.Parse(path, new)
		if err != nil {
			v.err = err
			return
		}
		if err := daemon.ValidateConfig(ctx, env.Root, cfg.Remove(daemonconfig.UsernsRemap)); err != nil {
			v.err = fmt.Errorf("%s as enable would write it: %w (nothing written)", path, err)
		}
	}()
	return v
}

// wait returns dockerd's verdict once it is in.
func (v *validation) wait() error {
	<-v.done
	return v.err
}

// stop ends a check whose verdict is no longer wanted (an earlier check
// failed) and waits for its temporary file to be gone.
func (v *validation) stop() {
	v.cancel()
	<-v.done
}
