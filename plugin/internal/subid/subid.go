// Package subid reads and edits /etc/subuid and /etc/subgid
// ("owner:start:count" per line) so that an edit changes only the lines it
// adds or removes: comments, blank lines and every other byte stay.
package subid

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// MaxID is the highest id a range may reach (exclusive end): 2^32-1 is the
// kernel's "no id" value and can never be mapped.
const MaxID = 1<<32 - 1

// Range is one subordinate id range of an owner (a user name or numeric uid).
type Range struct {
	Owner string `json:"owner"`
	Start uint32 `json:"start"`
	Count uint32 `json:"count"`
	// Line is the 1-based line in the file (0 for a range not in a file yet).
	Line int `json:"line,omitempty"`
}

// End is one past the last id of the range.
func (r Range) End() uint64 { return uint64(r.Start) + uint64(r.Count) }

// Overlaps reports whether r and o share an id.
func (r Range) Overlaps(o Range) bool {
	return uint64(r.Start) < o.End() && uint64(o.Start) < r.End()
}

// Same reports whether r and o say the same owner:start:count, wherever
// each stands in its file.
func (r Range) Same(o Range) bool {
	return r.Owner == o.Owner && r.Start == o.Start && r.Count == o.Count
}

// Contains reports whether id lies in r.
func (r Range) Contains(id uint32) bool {
	return id >= r.Start && uint64(id) < r.End()
}

// String is the file form "owner:start:count".
func (r Range) String() string {
	return fmt.Sprintf("%s:%d:%d", r.Owner, r.Start, r.Count)
}

// Span is "start-last", the way usermod's --add-subuids takes it.
func (r Range) Span() string {
	return fmt.Sprintf("%d-%d", r.Start, r.End()-1)
}

type line struct {
	raw   string // without the newline
	entry *Range // nil for comments and blank lines
}

// File is a parsed subuid or subgid file.
type File struct {
	path  string
	lines []line
	// finalNL is false when the last line has no newline (kept as is).
	finalNL bool
}

// Parse parses data read from path (the path only names errors:
// "path:line: reason").
func Parse(path string, data []byte) (*File, error) {
	f := &File{path: path, finalNL: true}
	if len(data) == 0 {
		return f, nil
	}
	text := string(data)
	f.finalNL = strings.HasSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\n")
	for i, raw := range strings.Split(text, "\n") {
		l := line{raw: raw}
		r, err := parseLine(raw)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s", path, i+1, err)
		}
		if r != nil {
			r.Line = i + 1
			l.entry = r
		}
		f.lines = append(f.lines, l)
	}
	return f, nil
}

// parseLine returns nil for a comment or blank line.
func parseLine(raw string) (*Range, error) {
	s := strings.TrimSpace(raw)
	if s == "" || strings.HasPrefix(s, "#") {
		return nil, nil
	}
	if s != raw {
		return nil, fmt.Errorf("leading or trailing white space in %q", raw)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%d fields in %q, want owner:start:count", len(parts), raw)
	}
	owner := parts[0]
	if owner == "" {
		return nil, fmt.Errorf("empty owner in %q", raw)
	}
	if strings.ContainsAny(owner, " \t\r") {
		return nil, fmt.Errorf("white space in owner %q", owner)
	}
	start, err := parseID(parts[1])
	if err != nil {
		return nil, fmt.Errorf("bad start %q: %s", parts[1], err)
	}
	count, err := parseID(parts[2])
	if err != nil {
		return nil, fmt.Errorf("bad count %q: %s", parts[2], err)
	}
	if count == 0 {
		return nil, fmt.Errorf("bad count %q: must be at least 1", parts[2])
	}
	r := &Range{Owner: owner, Start: start, Count: count}
	if r.End() > MaxID {
		return nil, fmt.Errorf("range %s ends past %d", r.Span(), uint64(MaxID-1))
	}
	return r, nil
}

func parseID(s string) (uint32, error) {
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("out of range")
	}
	return uint32(n), nil
}

// Path is the path the file was parsed from.
func (f *File) Path() string { return f.path }

// Ranges returns every range in file order.
func (f *File) Ranges() []Range {
	var out []Range
	for _, l := range f.lines {
		if l.entry != nil {
			out = append(out, *l.entry)
		}
	}
	return out
}

// Has reports whether the exact line owner:start:count is present.
func (f *File) Has(r Range) bool {
	for _, e := range f.Ranges() {
		if e.Same(r) {
			return true
		}
	}
	return false
}

// Add appends the line owner:start:count unless it is already there; it
// returns false when nothing was added.
func (f *File) Add(owner string, start, count uint32) (bool, error) {
	r := Range{Owner: owner, Start: start, Count: count}
	if _, err := parseLine(r.String()); err != nil {
		return false, fmt.Errorf("add %s to %s: %s", r, f.path, err)
	}
	if f.Has(r) {
		return false, nil
	}
	if !f.finalNL && len(f.lines) > 0 {
		// The old last line gains the newline it lacked; nothing else moves.
		f.finalNL = true
	}
	r.Line = len(f.lines) + 1
	f.lines = append(f.lines, line{raw: r.String(), entry: &r})
	return true, nil
}

// InsertAbove puts the line r just above the first line equal to above
// (owner, start and count), or appends it when there is none; false when r
// is already in the file. Order matters: dockerd maps container ids across
// a user's lines in file order.
func (f *File) InsertAbove(r, above Range) (bool, error) {
	at := -1
	for i, l := range f.lines {
		if e := l.entry; e != nil && e.Same(above) {
			at = i
			break
		}
	}
	if at < 0 {
		return f.Add(r.Owner, r.Start, r.Count)
	}
	r = Range{Owner: r.Owner, Start: r.Start, Count: r.Count}
	if _, err := parseLine(r.String()); err != nil {
		return false, fmt.Errorf("add %s to %s: %s", r, f.path, err)
	}
	if f.Has(r) {
		return false, nil
	}
	f.lines = append(f.lines[:at:at], append([]line{{raw: r.String(), entry: &r}}, f.lines[at:]...)...)
	f.renumber()
	return true, nil
}

// Clone is an independent copy, for planning an edit without making it.
func (f *File) Clone() *File {
	c, err := Parse(f.path, f.Bytes())
	if err != nil {
		panic(fmt.Sprintf("subid: re-parse of a parsed file failed: %v", err))
	}
	return c
}

func (f *File) renumber() {
	for j := range f.lines {
		if f.lines[j].entry != nil {
			f.lines[j].entry.Line = j + 1
		}
	}
}

// Remove deletes the first line owner:start:count; false when absent.
func (f *File) Remove(owner string, start, count uint32) bool {
	for i, l := range f.lines {
		if e := l.entry; e != nil && e.Owner == owner && e.Start == start && e.Count == count {
			f.lines = append(f.lines[:i:i], f.lines[i+1:]...)
			f.renumber()
			if len(f.lines) == 0 {
				f.finalNL = true
			}
			return true
		}
	}
	return false
}

// Bytes renders the file: untouched lines are byte for byte as parsed.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for i, l := range f.lines {
		b.WriteString(l.raw)
		if i < len(f.lines)-1 || f.finalNL {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
