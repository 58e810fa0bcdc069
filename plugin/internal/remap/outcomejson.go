package remap

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// PublicOutcome is enable's and disable's --format output: its JSON keys
// and field names (which templates name) are a promise to users, kept
// apart from Outcome so that a rename there cannot change them
// (commands/testdata/outcome-json.golden, testdata/outcome-public.golden).
type PublicOutcome struct {
	Action     string            `json:"action"`
	Result     string            `json:"result"`
	Changed    bool              `json:"changed"`
	Remap      string            `json:"remap,omitempty"`
	Plan       *rangeplan.Plan   `json:"plan,omitempty"`
	Files      []string          `json:"files,omitempty"`
	Diff       string            `json:"diff,omitempty"`
	Restart    string            `json:"restart,omitempty"`
	Checks     verify.Report     `json:"checks,omitempty"`
	Backups    []string          `json:"backups,omitempty"`
	Daemon     *daemon.State     `json:"daemon,omitempty"`
	Removed    []string          `json:"removedRanges,omitempty"`
	Work       *RunningWork      `json:"runningWork,omitempty"`
	MapChange  *MapChange        `json:"mapChange,omitempty"`
	Pending    *Pending          `json:"pending,omitempty"`
	Carried    *carry.Report     `json:"carried,omitempty"`
	Unchecked  []string          `json:"unchecked,omitempty"`
	ImageStore *StoreSwitch      `json:"imageStore,omitempty"`
	Reappeared *carry.Reappeared `json:"reappeared,omitempty"`
}

// Public is o as --format prints it.
func (o Outcome) Public() PublicOutcome {
	return PublicOutcome{
		Action: o.Action, Result: string(o.Result), Changed: o.Changed,
		Remap: o.Remap, Plan: o.Plan, Files: o.Files, Diff: o.Diff, Restart: o.Restart,
		Checks: o.Checks, Backups: o.Backups, Daemon: o.Daemon, Removed: o.Removed,
		Work: o.Work, MapChange: o.MapChange, Pending: o.Pending, Carried: o.Carried,
		Unchecked: o.Unchecked, ImageStore: o.ImageStore, Reappeared: o.Reappeared,
	}
}

// wireOutcome is the answer a helper container (enable or disable with
// --arm-only) prints for the client that started it, which may be of
// another version: its keys change only with both sides
// (testdata/outcome-wire.golden). They are today the keys PublicOutcome
// had when the two were one type.
type wireOutcome struct {
	Action     string            `json:"action"`
	Result     string            `json:"result"`
	Changed    bool              `json:"changed"`
	Remap      string            `json:"remap,omitempty"`
	Plan       *rangeplan.Plan   `json:"plan,omitempty"`
	Files      []string          `json:"files,omitempty"`
	Diff       string            `json:"diff,omitempty"`
	Restart    string            `json:"restart,omitempty"`
	Checks     verify.Report     `json:"checks,omitempty"`
	Backups    []string          `json:"backups,omitempty"`
	Daemon     *daemon.State     `json:"daemon,omitempty"`
	Removed    []string          `json:"removedRanges,omitempty"`
	Work       *RunningWork      `json:"runningWork,omitempty"`
	MapChange  *MapChange        `json:"mapChange,omitempty"`
	Pending    *Pending          `json:"pending,omitempty"`
	Carried    *carry.Report     `json:"carried,omitempty"`
	Unchecked  []string          `json:"unchecked,omitempty"`
	ImageStore *StoreSwitch      `json:"imageStore,omitempty"`
	Reappeared *carry.Reappeared `json:"reappeared,omitempty"`
}

// WriteWire prints o as a helper container answers its client: one line
// of JSON.
func WriteWire(w io.Writer, o Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(wireOutcome{
		Action: o.Action, Result: string(o.Result), Changed: o.Changed,
		Remap: o.Remap, Plan: o.Plan, Files: o.Files, Diff: o.Diff, Restart: o.Restart,
		Checks: o.Checks, Backups: o.Backups, Daemon: o.Daemon, Removed: o.Removed,
		Work: o.Work, MapChange: o.MapChange, Pending: o.Pending, Carried: o.Carried,
		Unchecked: o.Unchecked, ImageStore: o.ImageStore, Reappeared: o.Reappeared,
	})
}

// ReadWire reads a helper container's answer (WriteWire).
func ReadWire(data []byte) (Outcome, error) {
	var w wireOutcome
	if err := json.Unmarshal(data, &w); err != nil {
		return Outcome{}, fmt.Errorf("read the helper's answer: %w", err)
	}
	return Outcome{
		Action: w.Action, Result: Result(w.Result), Changed: w.Changed,
		Remap: w.Remap, Plan: w.Plan, Files: w.Files, Diff: w.Diff, Restart: w.Restart,
		Checks: w.Checks, Backups: w.Backups, Daemon: w.Daemon, Removed: w.Removed,
		Work: w.Work, MapChange: w.MapChange, Pending: w.Pending, Carried: w.Carried,
		Unchecked: w.Unchecked, ImageStore: w.ImageStore, Reappeared: w.Reappeared,
	}, nil
}
