package hostchange

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// StatePath is where enable records what it changed.
const StatePath = "/var/lib/docker-userns/state.json"

// stateVersion is bumped when the record changes incompatibly.
const stateVersion = 1

// State is the record enable leaves for disable.
type State struct {
	Version int `json:"version"`
	// Remap is the userns-remap value enable set; DaemonJSON the file it set it in.
	Remap      string `json:"remap"`
	DaemonJSON string `json:"daemonJson"`
	// Files are the files enable changed, with their backups and hashes.
	Files []AppliedFile `json:"files"`
	// AddedUID and AddedGID are the ranges enable added, and only those.
	AddedUID []subid.Range `json:"addedUid,omitempty"`
	AddedGID []subid.Range `json:"addedGid,omitempty"`
	// RemovedUID and RemovedGID are the ranges someone else wrote that
	// enable --force removed; disable --remove-ranges puts them back.
	RemovedUID []subid.Range `json:"removedUid,omitempty"`
	RemovedGID []subid.Range `json:"removedGid,omitempty"`
	// CreatedUser is the user --create-user made ("" when none).
	CreatedUser string `json:"createdUser,omitempty"`
}

// LoadState reads the state record; nil (and no error) when there is none.
func LoadState(root hostfs.Root) (*State, error) {
	var s State
	if found, err := root.ReadJSON(StatePath, &s); !found || err != nil {
		return nil, err
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("read %s: version %d, this tool knows %d", StatePath, s.Version, stateVersion)
	}
	return &s, nil
}

// Save writes the state record atomically (0600, directory made as needed).
func (s *State) Save(root hostfs.Root) error {
	s.Version = stateVersion
	return root.WriteJSON(StatePath, s)
}

// RemoveState deletes the state record (after disable undid everything).
func RemoveState(root hostfs.Root) error {
	_, err := root.RemoveFile(StatePath, hostfs.WriteOptions{})
	return err
}

// Record merges what an Apply did into the state. A file written again
// over exactly what the record's write left keeps its record's original
// (and backup, when the Apply kept it): disable can still restore it. A
// file someone edited between our writes gets the new write's record,
// marked Partial: its backup only undoes that write, so disable edits.
func (s *State) Record(a *Applied) {
	for _, f := range a.Files {
		i := slices.IndexFunc(s.Files, func(r AppliedFile) bool { return r.Target == f.Target })
		if i < 0 {
			s.Files = append(s.Files, f)
			continue
		}
		r := &s.Files[i]
		kept := f.Backup != "" && !f.BackupCreated
		if f.continues && (kept || r.Created) {
			r.WrittenSHA256, r.Removed = f.WrittenSHA256, f.Removed
			r.IntendedSHA256, r.IntendedCreate = "", false
			if r.Backup == "" {
				r.Backup = f.Backup // ours to remove later
			}
			continue
		}
		f.Partial = true
		*r = f
	}
}

// Clone is a copy that shares nothing with s (an empty State for nil).
func (s *State) Clone() *State {
	if s == nil {
		return &State{}
	}
	c := *s
	c.Files = slices.Clone(s.Files)
	c.AddedUID, c.AddedGID = slices.Clone(s.AddedUID), slices.Clone(s.AddedGID)
	c.RemovedUID, c.RemovedGID = slices.Clone(s.RemovedUID), slices.Clone(s.RemovedGID)
	return &c
}

// Intend notes, before any file of set changes, what each write will leave
// (intent first): a run killed between a write and its record leaves a
// record from which a later command can tell the file holds our write and
// undo it. The records of earlier writes stay as they are.
func (s *State) Intend(root hostfs.Root, set Set) {
	for _, c := range set {
		if !c.Changed() || c.Remove {
			continue
		}
		target, err := root.Resolve(c.Path)
		if err != nil {
			target = c.Path
		}
		i := slices.IndexFunc(s.Files, func(r AppliedFile) bool { return r.Target == target || r.Path == c.Path })
		if i < 0 {
			s.Files = append(s.Files, AppliedFile{Path: c.Path, Target: target})
			i = len(s.Files) - 1
		}
		s.Files[i].IntendedSHA256, s.Files[i].IntendedCreate = Hash(c.New), !c.OldExists
	}
}

// File returns the record of the file at host path p (by path asked or target).
func (s *State) File(p string) (AppliedFile, bool) {
	for _, f := range s.Files {
		if f.Path == p || f.Target == p {
			return f, true
		}
	}
	return AppliedFile{}, false
}

// Undo says what RestoreFile did.
type Undo int

// RestoreFile outcomes.
const (
	// Restored: the file is byte for byte what it was before enable.
	Restored Undo = iota
	// Edited: someone changed the file after enable; the caller must edit
	// it instead (remove the key, remove the ranges).
	Edited
	// NoBackup: the backup is missing or no longer holds the original.
	NoBackup
)

func (u Undo) String() string {
	return [...]string{"restored", "changed since enable", "no usable backup"}[u]
}

// RestoreFile puts a file enable changed back as it was, if it still holds
// exactly what enable wrote: a file enable created is removed, a changed one
// gets its backup renamed back into place. Otherwise it touches nothing and
// says why, so the caller can fall back to editing.
func RestoreFile(root hostfs.Root, f AppliedFile, lock bool) (Undo, error) {
	cur, err := root.ReadFile(f.Target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Edited, err
	}
	switch {
	case f.Removed && exists, !f.Removed && !exists, !f.Removed && Hash(cur) != f.WrittenSHA256:
		return Edited, nil
	}
	if f.Created {
		if _, err := root.RemoveFile(f.Target, hostfs.WriteOptions{Lock: lock, Check: expect(f)}); err != nil {
			return Edited, err
		}
		return Restored, nil
	}
	bak, err := root.ReadFile(f.Backup)
	if f.Backup == "" || f.Partial || err != nil || Hash(bak) != f.OriginalSHA256 {
		return NoBackup, nil
	}
	if err := root.Restore(f.Target, f.Backup, lock); err != nil {
		return NoBackup, err
	}
	return Restored, nil
}

// expect refuses a removal when the file changed between the check and the lock.
func expect(f AppliedFile) func([]byte, bool) error {
	return func(cur []byte, exists bool) error {
		if !exists || Hash(cur) != f.WrittenSHA256 {
			return fmt.Errorf("%s: %w", f.Target, ErrChangedMeanwhile)
		}
		return nil
	}
}

// RestoreAll undoes a saved Apply and puts the state record back as it was
// (nil: there was none).
func RestoreAll(root hostfs.Root, saved Saved, oldState *State) error {
	var errs []error
	if err := saved.Applied(root).Restore(); err != nil {
		errs = append(errs, fmt.Errorf("restore files: %w", err))
	}
	if oldState != nil {
		errs = append(errs, oldState.Save(root))
	} else {
		errs = append(errs, RemoveState(root))
	}
	return errors.Join(errs...)
}
