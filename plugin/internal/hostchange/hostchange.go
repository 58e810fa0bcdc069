// Package hostchange applies a set of host file changes all or nothing: each
// file is written with lock and backup, and if one write fails the ones
// already written are put back. It also renders the set as unified diffs for
// --dry-run and records what enable changed so that disable can undo it.
package hostchange

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// ErrChangedMeanwhile is returned (wrapped) when a file no longer holds the
// content the change was planned from.
var ErrChangedMeanwhile = errors.New("changed since it was read")

// Change is one planned file change.
type Change struct {
	// Path is the host path (symlinks are followed when writing).
	Path string
	// Old is the content the change was planned from; OldExists is false
	// when the file was missing.
	Old       []byte
	OldExists bool
	// New is the content wanted; Remove removes the file instead.
	New    []byte
	Remove bool
	// Perm is the mode of a file that does not exist yet (0644 when zero).
	Perm fs.FileMode
	// Lock takes shadow's lock for the write (subuid, subgid, passwd, group).
	Lock bool
}

// Changed reports whether applying the change would modify the file.
func (c Change) Changed() bool {
	if c.Remove {
		return c.OldExists
	}
	return !c.OldExists || !bytes.Equal(c.Old, c.New)
}

// Diff is the unified diff of the change ("" when nothing changes).
func (c Change) Diff() string {
	if c.Remove {
		return UnifiedDiff(c.Path, c.Old, nil, c.OldExists, false)
	}
	return UnifiedDiff(c.Path, c.Old, c.New, c.OldExists, true)
}

// Set is a list of changes applied together.
type Set []Change

// Changed reports whether any change modifies a file.
func (s Set) Changed() bool {
	for _, c := range s {
		if c.Changed() {
			return true
		}
	}
	return false
}

// Diff renders every change as a unified diff, one file after another.
func (s Set) Diff() string {
	var b strings.Builder
	for _, c := range s {
		b.WriteString(c.Diff())
	}
	return b.String()
}

// AppliedFile is one file Apply wrote.
type AppliedFile struct {
	// Path is the host path asked; Target the file written (symlinks followed).
	Path   string `json:"path"`
	Target string `json:"target"`
	// Backup is the host path of the backup ("" for a new file): the content
	// just before this Apply's write (BackupCreated), or an older backup kept
	// because the file still held what the write it undoes put there.
	Backup        string `json:"backup,omitempty"`
	BackupCreated bool   `json:"-"`
	// Created: the file did not exist before. Removed: Apply removed it.
	Created bool `json:"created,omitempty"`
	Removed bool `json:"removed,omitempty"`
	// OriginalSHA256 is the hash of the backup's content; WrittenSHA256 of
	// the content written ("" when removed).
	OriginalSHA256 string `json:"originalSha256,omitempty"`
	WrittenSHA256  string `json:"writtenSha256,omitempty"`
	// Partial: the backup holds the content before a write that started
	// from content an earlier change of ours was already in (someone edited
	// the file between our writes). Restoring it would not undo that
	// earlier change and could drop the other edits: undo by editing.
	Partial bool `json:"partial,omitempty"`
	// IntendedSHA256 is the hash of what a write under way will leave
	// (IntendedCreate: in a file it creates), recorded before it starts: a
	// run killed between that write and its record leaves enough for a
	// later command to undo it. Cleared once the write is recorded.
	IntendedSHA256 string `json:"intendedSha256,omitempty"`
	IntendedCreate bool   `json:"intendedCreate,omitempty"`
	// Changed is false once Restore put the file back.
	Changed bool `json:"-"`

	old  []byte
	lock bool
	edit *Edit
	// continues: the write started from exactly what the prior record's
	// write left (nobody edited the file in between).
	continues bool
}

// Applied is what Apply did, for Restore and for the state record.
type Applied struct {
	root  hostfs.Root
	Files []AppliedFile
}

// Hash is the hex SHA-256 of content, as the state records it.
func Hash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// Apply writes every change (lock, backup, atomic rename). Each file must
// still hold the content the change was planned from. prior is the state
// record before the change (nil when there is none): a file's older backup
// is kept only while the file holds exactly what the recorded write put
// there and the backup what the record says; otherwise the backup is made
// afresh from the content just before this write. If one write fails, the
// files already written are restored and the error says so: all or nothing.
func (s Set) Apply(root hostfs.Root, prior *State) (*Applied, error) {
	a := &Applied{root: root}
	for _, c := range s {
		if !c.Changed() {
			continue
		}
		check := func(cur []byte, exists bool) error {
			if exists != c.OldExists || !bytes.Equal(cur, c.Old) {
				return fmt.Errorf("%s: %w: run the command again", c.Path, ErrChangedMeanwhile)
			}
			return nil
		}
		var rec *AppliedFile
		if prior != nil {
			if f, ok := prior.File(c.Path); ok {
				rec = &f
			}
		}
		continues := rec != nil && c.OldExists && !rec.Removed && Hash(c.Old) == rec.WrittenSHA256
		keep := func(old, bak []byte) bool {
			return continues && rec.Backup != "" && Hash(old) == rec.WrittenSHA256 && Hash(bak) == rec.OriginalSHA256
		}
		opts := hostfs.WriteOptions{Perm: c.Perm, Backup: true, KeepBackup: keep, Lock: c.Lock, MakeDirs: true, Check: check}
		var res hostfs.WriteResult
		var err error
		if c.Remove {
			res, err = root.RemoveFile(c.Path, opts)
		} else {
			res, err = root.WriteFile(c.Path, c.New, opts)
		}
		if err != nil {
			if rerr := a.Restore(); rerr != nil {
				return nil, fmt.Errorf("%w; rolling back also failed: %v", err, rerr)
			}
			return nil, err
		}
		af := AppliedFile{
			Path: c.Path, Target: res.Path, Backup: res.BackupPath, BackupCreated: res.BackupCreated,
			Created: res.Created, Removed: c.Remove, Changed: res.Changed, old: c.Old, lock: c.Lock,
			continues: continues, edit: editOf(c.Path, c.Old, c.New),
		}
		if c.OldExists {
			af.OriginalSHA256 = Hash(c.Old)
		}
		if !c.Remove {
			af.WrittenSHA256 = Hash(c.New)
		}
		if !res.BackupCreated && res.BackupPath != "" {
			// The kept backup holds the content from before the recorded write.
			af.OriginalSHA256 = rec.OriginalSHA256
		}
		a.Files = append(a.Files, af)
	}
	return a, nil
}

// Restore undoes Apply, newest first. A file that still holds exactly what
// Apply wrote gets its pre-change content back: a new file is removed, a
// changed one gets the backup renamed into place when this Apply made it,
// else the old content written. A file someone changed since (useradd
// during the confirm window) keeps their change: only ours is undone, by
// editing (the ranges we added go, those we removed come back, the keys we
// set get their earlier values). Each file is checked and put back under
// its lock. Use it when the daemon does not come back after a change.
func (a *Applied) Restore() error {
	var errs []error
	for i := len(a.Files) - 1; i >= 0; i-- {
		f := a.Files[i]
		if !f.Changed {
			continue
		}
		_, err := a.root.EditFile(f.Path, hostfs.WriteOptions{Lock: f.lock}, func(cur []byte, exists bool) (hostfs.Edit, error) {
			if f.Removed && !exists || !f.Removed && exists && Hash(cur) == f.WrittenSHA256 {
				switch {
				case f.Created:
					return hostfs.Edit{Remove: true}, nil
				case f.BackupCreated:
					return hostfs.Edit{RestoreFrom: f.Backup}, nil
				}
				return hostfs.Edit{Content: f.old}, nil
			}
			if f.edit == nil {
				return hostfs.Edit{Keep: true}, fmt.Errorf("%w, and our change cannot be told apart from the others: left as it is", ErrChangedMeanwhile)
			}
			content, err := f.edit.Reverse(f.Path, cur)
			if err != nil {
				return hostfs.Edit{Keep: true}, err
			}
			if !exists && len(content) == 0 {
				return hostfs.Edit{Keep: true}, nil
			}
			return hostfs.Edit{Content: content}, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", f.Path, err))
			continue
		}
		a.Files[i].Changed = false
	}
	return errors.Join(errs...)
}

// SavedFile is one file of a Saved: what Restore needs of an AppliedFile,
// including the content it replaced.
type SavedFile struct {
	AppliedFile
	BackupCreated bool   `json:"backupCreated,omitempty"`
	Changed       bool   `json:"changed,omitempty"`
	Old           []byte `json:"old,omitempty"`
	Lock          bool   `json:"lock,omitempty"`
	// Edit tells the change by ranges or keys, to undo it on a file that
	// someone changed since.
	Edit *Edit `json:"edit,omitempty"`
}

// Saved is an Apply in a form another process can restore later: the host
// agent reverts with it when no client confirms the change.
type Saved []SavedFile

// Save returns what Restore would need, to be saved.
func (a *Applied) Save() Saved {
	u := make(Saved, len(a.Files))
	for i, f := range a.Files {
		u[i] = SavedFile{AppliedFile: f, BackupCreated: f.BackupCreated, Changed: f.Changed, Old: f.old, Lock: f.lock, Edit: f.edit}
	}
	return u
}

// Applied turns a Saved back into an Applied on root, ready to Restore.
func (u Saved) Applied(root hostfs.Root) *Applied {
	a := &Applied{root: root, Files: make([]AppliedFile, len(u))}
	for i, f := range u {
		af := f.AppliedFile
		af.BackupCreated, af.Changed, af.old, af.lock, af.edit = f.BackupCreated, f.Changed, f.Old, f.Lock, f.Edit
		a.Files[i] = af
	}
	return a
}

// Changed names the files the Apply really changed.
func (u Saved) Changed() []string {
	var names []string
	for _, f := range u {
		if f.Changed {
			names = append(names, f.Path)
		}
	}
	return names
}
