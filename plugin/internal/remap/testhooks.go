//go:build testhooks

package remap

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/poll"
)

// pauseDir is where a plugin built with -tags testhooks looks for gates on
// the host root: at a step whose gate (pauseDir/STEP) exists it makes
// STEP.reached and waits until the gate is removed (or pauseLimit
// passed). End-to-end tests interrupt the client at that moment, with the
// process that runs the step (a helper container on a Docker host) still
// in it. Released builds have no such pause.
const pauseDir = "/run/docker-userns-pause"

// The steps, as gate names.
const (
	pauseWritten   = "written"   // the files written, no agent armed
	pauseArmed     = "armed"     // the agent's record armed, the agent not started
	pauseConfirmed = "confirmed" // the record removed by a confirmation, no answer yet
	pauseSession   = "session"   // a control session about to say the agent's phase
)

// pauseLimit bounds a pause a test forgot to release.
const pauseLimit = 5 * time.Minute

// buildSteps pause at each step whose gate a test made.
func buildSteps() stepHooks {
	return stepHooks{
		afterWrite:         func(root hostfs.Root) { pauseAt(root, pauseWritten) },
		afterArm:           func(root hostfs.Root) { pauseAt(root, pauseArmed) },
		afterConfirm:       func(root hostfs.Root) { pauseAt(root, pauseConfirmed) },
		beforeSessionPhase: func(root hostfs.Root) { pauseAt(root, pauseSession) },
	}
}

func pauseAt(root hostfs.Root, step string) {
	gate := root.Path(filepath.Join(pauseDir, step))
	if _, err := os.Stat(gate); err != nil {
		return
	}
	if err := os.WriteFile(gate+".reached", nil, 0o644); err != nil {
		return
	}
	// A hook has no context: the pause ends with the gate or pauseLimit.
	_ = poll.Until(context.Background(), pauseLimit, 20*time.Millisecond, func(context.Context) (bool, error) {
		_, err := os.Stat(gate)
		return err != nil, nil
	})
}
