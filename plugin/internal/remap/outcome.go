package remap

import (
	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// Result is what enable or disable came to; the words people read are made
// from it in one place (commands' writeOutcome).
type Result string

// The results of enable and disable.
const (
	Enabled         Result = "enabled"
	Disabled        Result = "disabled"
	AlreadyEnabled  Result = "already enabled"
	AlreadyDisabled Result = "already disabled"
	DryRun          Result = "dry run"
	// FilesChanged: written, not restarted (--restart none).
	FilesChanged Result = "files changed"
	// ArmedForClient: written, and a host agent armed to restart
	// (--arm-only, the helper's answer to the client that confirms); not
	// hostagent.Armed, the agent's phase.
	ArmedForClient Result = "armed"
	// RolledBack: the host agent restored the old files (the change was
	// reverted, hostagent.Reverted).
	RolledBack Result = "reverted"
)

// carriedOut is the result of a change that was carried out and confirmed.
func carriedOut(action string) Result {
	if action == "disable" {
		return Disabled
	}
	return Enabled
}

// Outcome is what enable or disable did: the domain's result. The public
// --format JSON is PublicOutcome, the helper's answer to its client is
// wireOutcome (outcomejson.go); each maps from it field by field, so that
// a field renamed here breaks neither users nor a helper of another version.
type Outcome struct {
	Action string
	Result Result
	// Changed is true when the run wrote the host's files or restarted its
	// daemon, and in a dry run when a run would (a restart alone counts):
	// what configuration management reports as changed (deploy/ansible).
	Changed bool
	Remap   string
	Plan    *rangeplan.Plan
	Files   []string
	Diff    string
	Restart string
	Checks  verify.Report
	Backups []string
	Daemon  *daemon.State
	Removed []string
	// Work is what the change does to the daemon's images and containers.
	Work *RunningWork
	// MapChange is a change of map under a data root that stays and holds
	// images, containers or volumes.
	MapChange *MapChange
	// Pending is set between arming the host agent and the client's
	// confirmation (what a helper container hands to its client).
	Pending *Pending
	// Carried is what --keep-images and --keep-volumes carried across the
	// switch of data root (the client fills it in after the change).
	Carried *carry.Report
	// Unchecked says what was not checked, and why (a tree's daemon is
	// not asked; a dry run runs nothing).
	Unchecked []string
	// ImageStore is the daemon's image store before and after, when the
	// change switches it (Docker 29's containerd store under remapping).
	ImageStore *StoreSwitch
	// Reappeared is what a disable shows again of the unremapped data
	// root, and what stays out of view in the remapped one (the client
	// fills it in after the change; nil when the daemon did not answer).
	Reappeared *carry.Reappeared
}
