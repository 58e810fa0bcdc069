package remap

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Control reaches the host agent of an armed change: in this process when
// the host is here (LocalControl), else through a helper container.
type Control interface {
	Status(ctx context.Context, token string) (*hostagent.Record, error)
	Confirm(ctx context.Context, token string) (*hostagent.Record, error)
	AskRevert(ctx context.Context, token, reason string) (*hostagent.Record, error)
	Collect(ctx context.Context, token string) (*hostagent.Record, error)
}

// LocalControl acts on the host root directly; a helper container runs it
// on the host it mounts.
type LocalControl struct {
	Root hostfs.Root
	// Helper is the helper container and image this runs in, if any.
	Helper hostagent.HelperObjects
}

func (l LocalControl) Status(_ context.Context, token string) (*hostagent.Record, error) {
	return hostagent.Lookup(l.Root, token)
}

// Confirm keeps the change and does the clean-up that belongs to it.
func (l LocalControl) Confirm(_ context.Context, token string) (*hostagent.Record, error) {
	rec, err := hostagent.Confirm(l.Root, token)
	if err != nil {
		return rec, err
	}
	atStep(buildSteps().afterConfirm, l.Root)
	return rec, commitOnHost(l.Root, rec.Commit, rec.OldState)
}

func (l LocalControl) AskRevert(_ context.Context, token, reason string) (*hostagent.Record, error) {
	return hostagent.AskRevert(l.Root, token, reason, l.Helper)
}

func (l LocalControl) Collect(_ context.Context, token string) (*hostagent.Record, error) {
	return hostagent.Collect(l.Root, token)
}

// commitOnHost does what a kept change needs on the host afterwards:
// disable forgets the backups and the state record.
func commitOnHost(root hostfs.Root, commit *hostagent.Commit, oldState *hostchange.State) error {
	if commit == nil {
		return nil
	}
	return forget(root, oldState, commit.RemoveRanges, commit.Backups)
}

// ControlCommand is the hidden first argument of a helper container that
// reaches the host agent: `__control ACTION --root DIR TOKEN [REASON]`, or
// a control session (session.go).
const ControlCommand = "__control"

// ControlMain runs one Control action on the host root and prints the
// record as JSON; ErrNotWaiting and ErrNoRecord exit with statuses of
// their own so the client can tell them apart.
func ControlMain(args []string, left hostagent.HelperObjects, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 4 || args[1] != "--root" {
		fmt.Fprintln(stderr, "usage: "+ControlCommand+" status|confirm|revert|collect --root DIR TOKEN [REASON]")
		return 2
	}
	root, err := hostfs.Open(args[2])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, control, token := context.Background(), LocalControl{Root: root, Helper: left}, args[3]
	var rec *hostagent.Record
	switch args[0] {
	case "session":
		wait, err := time.ParseDuration(strings.Join(args[4:], ""))
		if err != nil {
			fmt.Fprintf(stderr, "%s session: wait: %v\n", ControlCommand, err)
			return 2
		}
		return runSession(control, token, wait, stdin, stdout)
	case "status":
		rec, err = control.Status(ctx, token)
	case "confirm":
		rec, err = control.Confirm(ctx, token)
	case "revert":
		rec, err = control.AskRevert(ctx, token, strings.Join(args[4:], " "))
	case "collect":
		rec, err = control.Collect(ctx, token)
	default:
		fmt.Fprintf(stderr, "%s: unknown action %q\n", ControlCommand, args[0])
		return 2
	}
	if rec != nil {
		_ = json.NewEncoder(stdout).Encode(shown(rec))
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	return exitOf(err)
}

// ControlMain's exit statuses for the errors a client acts on.
const (
	ExitNotWaiting = 3 // hostagent.ErrNotWaiting
	ExitNoRecord   = 4 // hostagent.ErrNoRecord
)
