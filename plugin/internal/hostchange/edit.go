package hostchange

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Edit is a change told by what it did to a file's entries, so that it can
// be undone on content someone changed since, keeping their changes: the
// ranges a subuid/subgid change added and removed, the top-level keys a
// daemon.json change set or removed.
type Edit struct {
	Added   []subid.Range `json:"added,omitempty"`
	Removed []subid.Range `json:"removed,omitempty"`
	// Above[i] is the line Removed[i] stood above (the next line that
	// stayed; none when it was last): dockerd reads a user's lines in file
	// order, so a line put back goes where it was.
	Above []subid.Range `json:"above,omitempty"`
	Keys  []KeyEdit     `json:"keys,omitempty"`
}

// KeyEdit is one top-level JSON key a change set (After) where it had
// Before; a nil value is an absent key.
type KeyEdit struct {
	Key    string          `json:"key"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// editOf tells the change from old to new (a missing file is empty) as an
// Edit: by ranges when both are subuid/subgid files, by keys when both are
// JSON objects; nil when they are neither.
func editOf(path string, old, new []byte) *Edit {
	var e Edit
	of, oerr := subid.Parse(path, old)
	nf, nerr := subid.Parse(path, new)
	if oerr == nil && nerr == nil {
		e.Removed = missingFrom(of.Ranges(), nf.Ranges())
		e.Added = missingFrom(nf.Ranges(), of.Ranges())
		e.Above = anchorsOf(e.Removed, of.Ranges())
	} else {
		oc, oerr := daemonconfig.Parse(path, old)
		nc, nerr := daemonconfig.Parse(path, new)
		if oerr != nil || nerr != nil {
			return nil
		}
		seen := map[string]bool{}
		for _, k := range append(oc.Keys(), nc.Keys()...) {
			if seen[k] {
				continue
			}
			seen[k] = true
			before, _ := oc.Raw(k)
			after, _ := nc.Raw(k)
			if !sameJSON(before, after) {
				e.Keys = append(e.Keys, KeyEdit{Key: k, Before: before, After: after})
			}
		}
	}
	return &e
}

// anchorsOf finds for each removed line the next line of the old file
// that stayed (zero when none did).
func anchorsOf(removed, old []subid.Range) []subid.Range {
	gone := map[int]bool{}
	for _, r := range removed {
		gone[r.Line] = true
	}
	above := make([]subid.Range, len(removed))
	for i, r := range removed {
		for _, o := range old {
			if o.Line > r.Line && !gone[o.Line] {
				above[i] = subid.Range{Owner: o.Owner, Start: o.Start, Count: o.Count}
				break
			}
		}
	}
	return above
}

// missingFrom lists the ranges of a that b lacks, counting repeats.
func missingFrom(a, b []subid.Range) []subid.Range {
	left := append([]subid.Range(nil), b...)
	var out []subid.Range
	for _, r := range a {
		i := indexRange(left, r)
		if i < 0 {
			out = append(out, r)
			continue
		}
		left = append(left[:i], left[i+1:]...)
	}
	return out
}

func indexRange(rs []subid.Range, r subid.Range) int {
	for i, x := range rs {
		if x.Owner == r.Owner && x.Start == r.Start && x.Count == r.Count {
			return i
		}
	}
	return -1
}

// sameJSON compares two raw values as JSON (nil is an absent key).
func sameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Reverse undoes the edit on cur, content that may have changed since the
// edit was made: the ranges it added go, those it removed come back; each
// key that still holds what the edit set gets its earlier value back (a key
// someone changed since stays theirs). Every other byte stays.
func (e *Edit) Reverse(path string, cur []byte) ([]byte, error) {
	if len(e.Added)+len(e.Removed) > 0 {
		f, err := subid.Parse(path, cur)
		if err != nil {
			return nil, fmt.Errorf("undo our change to %s: %w", path, err)
		}
		for _, r := range e.Added {
			f.Remove(r.Owner, r.Start, r.Count)
		}
		for i, r := range e.Removed {
			var err error
			if i < len(e.Above) && e.Above[i].Owner != "" {
				_, err = f.InsertAbove(r, e.Above[i])
			} else {
				_, err = f.Add(r.Owner, r.Start, r.Count)
			}
			if err != nil {
				return nil, fmt.Errorf("undo our change to %s: %w", path, err)
			}
		}
		cur = f.Bytes()
	}
	for _, k := range e.Keys {
		c, err := daemonconfig.Parse(path, cur)
		if err != nil {
			return nil, fmt.Errorf("undo our change to %s: %w", path, err)
		}
		now, _ := c.Raw(k.Key)
		if !sameJSON(now, k.After) {
			continue
		}
		if k.Before == nil {
			cur = c.Remove(k.Key)
		} else if cur, err = c.Set(k.Key, k.Before); err != nil {
			return nil, err
		}
	}
	return cur, nil
}
