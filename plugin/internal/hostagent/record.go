// Package hostagent is the host's side of confirm-or-revert, as `netplan
// try` and `iptables-apply` do it: before the daemon is restarted with a new
// config, a small agent process is armed on the host. It restarts the daemon
// and restores the old files (and restarts again) unless a client confirms a
// verified daemon in time, so a host whose daemon never comes back returns
// to its old config by itself, whether or not the client can still reach it.
//
// The agent and its clients meet in one record file under the host root;
// every read-modify-write of it holds a lock, so a confirm and a revert
// cannot both win.
package hostagent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// RecordPath is the host path of the record of an armed change.
const RecordPath = "/var/lib/docker-userns/pending.json"

// Phase is where an armed change is.
type Phase string

// The phases, in order; a change ends confirmed or reverted.
const (
	// Armed: the files are written, the agent runs and has not restarted yet.
	Armed Phase = "armed"
	// Restarting: the agent restarted the daemon and waits for it to answer.
	Restarting Phase = "restarting"
	// Waiting: the new daemon answers; the agent waits for the client.
	Waiting Phase = "waiting"
	// RevertAsked: a client found the new daemon wrong and asked to revert.
	RevertAsked Phase = "revert asked"
	// Reverting: the agent is restoring the files and restarting.
	Reverting Phase = "reverting"
	// Reverted: the old files are back and the daemon was restarted.
	Reverted Phase = "reverted"
)

// Record is the armed change: what the agent needs to restart, wait and
// revert, and where it is.
type Record struct {
	Token  string `json:"token"`
	Action string `json:"action"`
	Phase  Phase  `json:"phase"`
	// Reason says why the change was (or is being) reverted.
	Reason string `json:"reason,omitempty"`
	// DaemonBack says whether the daemon answered after the revert.
	DaemonBack bool `json:"daemonBack,omitempty"`
	// Restarted says whether the revert restarted the daemon: not when it
	// came before the agent's restart (asked while the agent waited for
	// the helper's removal).
	Restarted bool `json:"restarted,omitempty"`
	// Files restores the files; OldState is the state record before the
	// change (nil: there was none).
	Files    hostchange.Saved  `json:"files"`
	OldState *hostchange.State `json:"oldState,omitempty"`
	// Commit is what a confirmation also does on the host.
	Commit *Commit `json:"commit,omitempty"`
	// Restart says how to restart the daemon, Socket where it answers and
	// LogPath where it says why it cannot start.
	Restart Restart `json:"restart"`
	Socket  string  `json:"socket"`
	LogPath string  `json:"logPath,omitempty"`
	// Timeout bounds the wait for the daemon after each restart;
	// ConfirmTimeout the wait for a client once it answers.
	Timeout        time.Duration `json:"timeout"`
	ConfirmTimeout time.Duration `json:"confirmTimeout"`
	// Helper is what the client must remove from the daemon (the helper
	// container and image) before the restart, so that none stays behind.
	Helper HelperObjects `json:"leftovers,omitzero"`
	// EscapeCgroup moves the agent into PID 1's cgroups: started from a
	// helper container, it must outlive that container.
	EscapeCgroup bool `json:"escapeCgroup,omitempty"`
	// Started is the systemd unit's run the agent restarted the daemon
	// into (its InvocationID, main pid and start time), once it answers.
	Started  *daemon.UnitState `json:"started,omitempty"`
	AgentPID int               `json:"agentPid,omitempty"`
	Armed    time.Time         `json:"armed"`
	Updated  time.Time         `json:"updated"`
}

// Restart is the restart strategy as the agent applies it.
type Restart struct {
	Strategy string `json:"strategy"`
	Pidfile  string `json:"pidfile"`
}

// Commit is the clean-up that belongs to a kept change: disable removes the
// backups and the state record once the daemon runs without remapping.
type Commit struct {
	RemoveRanges bool     `json:"removeRanges,omitempty"`
	Backups      []string `json:"backups,omitempty"`
}

// HelperObjects are the helper container and image a client runs on the
// daemon: not leftovers of a dead client (sweep.List) but its own, which
// the agent waits to see gone.
type HelperObjects struct {
	Container string `json:"container,omitempty"`
	Image     string `json:"image,omitempty"`
}

// Finished is true for a record whose agent has nothing left to do.
func (r *Record) Finished() bool { return r.Phase == Reverted }

// NewToken returns a fresh random token naming one armed change.
func NewToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrNoRecord means no change is armed (or it was confirmed and cleared).
var ErrNoRecord = errors.New("no armed change")

// locked runs fn with the record's directory locked (flock: released by the
// kernel when a process dies, so a crashed agent never wedges a client).
func locked(root hostfs.Root, fn func() error) error {
	// The directory as the host sees it: a link on the way resolves inside
	// the root.
	resolved, err := root.Resolve(filepath.Dir(RecordPath))
	if err != nil {
		return fmt.Errorf("lock %s: %w", filepath.Dir(RecordPath), err)
	}
	dir := root.Path(resolved)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("lock %s: %w", filepath.Dir(RecordPath), err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("lock %s: %w", filepath.Dir(RecordPath), err)
	}
	defer f.Close()
	if err := hostfs.Flock(f, true); err != nil {
		return fmt.Errorf("lock %s: %w", filepath.Dir(RecordPath), err)
	}
	defer hostfs.Funlock(f)
	return fn()
}

// load reads the record; ErrNoRecord when there is none.
func load(root hostfs.Root) (*Record, error) {
	rec, err := ReadRecord(root)
	if rec == nil && err == nil {
		err = ErrNoRecord
	}
	return rec, err
}

// save writes the record atomically, readable by root only (it holds the
// old contents of the files).
func save(root hostfs.Root, r *Record) error {
	r.Updated = time.Now().UTC()
	return root.WriteJSON(RecordPath, r)
}

func remove(root hostfs.Root) error {
	_, err := root.RemoveFile(RecordPath, hostfs.WriteOptions{})
	return err
}

// update loads the record of token, lets fn change it and saves it; fn
// returning errDrop removes the record instead.
func update(root hostfs.Root, token string, fn func(*Record) error) (*Record, error) {
	var rec *Record
	err := locked(root, func() error {
		var err error
		if rec, err = loadToken(root, token); err != nil {
			return err
		}
		switch err := fn(rec); {
		case errors.Is(err, errDrop):
			return remove(root)
		case errors.Is(err, errUnchanged):
			return nil
		case err != nil:
			return err
		}
		return save(root, rec)
	})
	return rec, err
}

// errDrop asks update to remove the record, errUnchanged to leave the
// file as it is.
var (
	errDrop      = errors.New("drop record")
	errUnchanged = errors.New("record unchanged")
)

// loadToken reads the record and checks that it is token's.
func loadToken(root hostfs.Root, token string) (*Record, error) {
	rec, err := load(root)
	if err != nil {
		return nil, err
	}
	if rec.Token != token {
		return nil, fmt.Errorf("%s: armed change is %s, not %s: %w", RecordPath, rec.Token, token, ErrNoRecord)
	}
	return rec, nil
}
