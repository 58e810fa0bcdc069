package remap

import "github.com/docker-userns/docker-userns/plugin/internal/hostfs"

// stepHooks run at the points of a change where an end-to-end test pauses
// it (a plugin built with -tags testhooks: testhooks.go) and a unit test
// stands for a process killed there. A nil hook does nothing.
type stepHooks struct {
	// afterWrite: the files written, not yet their record.
	afterWrite func(hostfs.Root)
	// afterArm: the agent's record armed, the agent not started (through
	// the daemon, not yet out of the helper container).
	afterArm func(hostfs.Root)
	// afterConfirm: the agent's record removed (the change kept), the
	// confirming process not yet answered.
	afterConfirm func(hostfs.Root)
	// beforeSessionPhase: a control session about to say the agent's
	// phase; its client waits for it and has sent no request.
	beforeSessionPhase func(hostfs.Root)
}

// steps are env's hooks: a test's, else the build's.
func (e Env) steps() stepHooks {
	if e.stepHooks != nil {
		return *e.stepHooks
	}
	return buildSteps()
}

// atStep runs hook, if any, on root.
func atStep(hook func(hostfs.Root), root hostfs.Root) {
	if hook != nil {
		hook(root)
	}
}
