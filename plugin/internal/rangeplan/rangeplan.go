// Package rangeplan chooses the subordinate id ranges of the remap user for a
// layout (owner, contiguous, isolated), computes the map dockerd will build
// from them, and reviews existing ranges for status and doctor.
package rangeplan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Layout is how container ids are laid onto host ids.
type Layout string

// The layouts (see DESIGN.md).
const (
	// Owner: container root is the user itself (a one-wide range at its
	// uid/gid, sorting first); every other container id lands on a free range.
	Owner Layout = "owner"
	// Contiguous: one range starting at the user's uid (the seed's layout);
	// container id B lands on host id uid+B, which may be a real user.
	Contiguous Layout = "contiguous"
	// Isolated: one free range; container root is an unused id.
	Isolated Layout = "isolated"
)

// Layouts lists the layouts for help texts.
var Layouts = []Layout{Owner, Contiguous, Isolated}

// DefaultSize is how many container ids are mapped unless asked otherwise.
const DefaultSize = 65536

// MinStart is where free ranges begin (shadow's SUB_UID_MIN default).
const MinStart = 100000

// ParseLayout checks a --layout value.
func ParseLayout(s string) (Layout, error) {
	for _, l := range Layouts {
		if string(l) == s {
			return l, nil
		}
	}
	return "", fmt.Errorf("layout %q: want owner, contiguous or isolated", s)
}

// ParseSize checks a --size value: 1 up to 2^32-1 ids.
func ParseSize(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.TrimLeft(t, "0123456789") != "" {
		return 0, fmt.Errorf("size %q: not a positive whole number", s)
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n >= subid.MaxID {
		return 0, fmt.Errorf("size %q: past %d, the most ids a range can hold", s, uint64(subid.MaxID-1))
	}
	if n == 0 {
		return 0, fmt.Errorf("size %q: must be at least 1", s)
	}
	return uint32(n), nil
}

// MapLine is one line of /proc/PID/uid_map or gid_map.
type MapLine struct {
	Container uint32 `json:"container"`
	Host      uint32 `json:"host"`
	Size      uint32 `json:"size"`
}

// String is the line as the kernel prints it, without its padding.
func (m MapLine) String() string { return fmt.Sprintf("%d %d %d", m.Container, m.Host, m.Size) }

// MapOf computes the map dockerd builds from a user's ranges: sorted by
// start, container ids 0.. laid across them in that order.
func MapOf(ranges []subid.Range) []MapLine {
	sorted := append([]subid.Range(nil), ranges...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	var out []MapLine
	var next uint64
	for _, r := range sorted {
		if next > subid.MaxID {
			break
		}
		out = append(out, MapLine{Container: uint32(next), Host: r.Start, Size: r.Count})
		next += uint64(r.Count)
	}
	return out
}

// FormatMap writes a map as its lines joined by ", ": "0 999 1, 1 165536 65535".
func FormatMap(lines []MapLine) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// Side is the plan for one of subuid or subgid.
type Side struct {
	// File is the path of the subuid or subgid file.
	File string `json:"file"`
	// Add are the lines to add; Remove the lines to remove (only with Force).
	Add    []subid.Range `json:"add,omitempty"`
	Remove []subid.Range `json:"remove,omitempty"`
	// Ranges are the user's ranges afterwards, sorted as dockerd sorts them.
	Ranges []subid.Range `json:"ranges"`
	// Map is the resulting uid_map or gid_map.
	Map []MapLine `json:"map"`
	// Root is the host id of container id 0.
	Root uint32 `json:"root"`
	// Size is how many container ids are mapped.
	Size uint64 `json:"size"`
}

// Plan is the outcome of Make.
type Plan struct {
	Layout Layout `json:"layout"`
	User   string `json:"user"`
	UID    Side   `json:"uid"`
	GID    Side   `json:"gid"`
	// Unchanged is true when the files already hold what the layout needs.
	Unchanged bool `json:"unchanged"`
}

// DataRoot is the daemon's data root under remapping: <dataRoot>/<uid>.<gid>
// of container root's host ids.
func (p Plan) DataRoot(dataRoot string) string {
	return fmt.Sprintf("%s/%d.%d", strings.TrimSuffix(dataRoot, "/"), p.UID.Root, p.GID.Root)
}

// Request says what to plan.
type Request struct {
	// Layout to plan ("" picks owner, or isolated when the user does not exist yet).
	Layout Layout
	// Size is how many container ids to map (0 means DefaultSize).
	Size uint32
	// User is the owner name written into the files.
	User string
	// UID and GID are the user's and the chosen group's host ids.
	UID, GID uint32
	// Exists is false for a user not created yet (dockremap before dockerd
	// makes it): its lines are matched by name only, and only isolated fits.
	Exists bool
	// Force replaces ranges of the user that do not fit, and allows a
	// contiguous range that covers host ids or other users' ranges.
	Force          bool
	Subuid, Subgid *subid.File
	Accounts       *accounts.DB
}

// Make plans the ranges. It changes nothing: the caller adds and removes
// Plan.UID/GID.Add/Remove in the files.
func Make(req Request) (Plan, error) {
	if req.Size == 0 {
		req.Size = DefaultSize
	}
	if uint64(req.Size) >= subid.MaxID {
		return Plan{}, fmt.Errorf("size %d: past %d", req.Size, uint64(subid.MaxID-1))
	}
	if req.Layout == "" {
		req.Layout = Owner
		if !req.Exists {
			req.Layout = Isolated
		}
	}
	if !req.Exists && req.Layout != Isolated {
		return Plan{}, fmt.Errorf("layout %s: user %s does not exist yet, only the isolated layout can be planned for it", req.Layout, req.User)
	}
	if req.Subuid == nil || req.Subgid == nil || req.Accounts == nil {
		return Plan{}, fmt.Errorf("plan ranges: subuid, subgid and accounts are needed")
	}
	pl := &planner{req: req, hostIDs: req.Accounts.IDs()}
	for _, f := range []*subid.File{req.Subuid, req.Subgid} {
		for _, r := range f.Ranges() {
			pl.taken = append(pl.taken, span{uint64(r.Start), r.End()})
		}
	}
	plan := Plan{Layout: req.Layout, User: req.User}
	var err error
	if plan.UID, err = pl.side(req.Subuid, req.UID, "uid"); err != nil {
		return Plan{}, err
	}
	if plan.GID, err = pl.side(req.Subgid, req.GID, "gid"); err != nil {
		return Plan{}, err
	}
	plan.Unchanged = len(plan.UID.Add)+len(plan.UID.Remove)+len(plan.GID.Add)+len(plan.GID.Remove) == 0
	return plan, nil
}

type span struct{ start, end uint64 }

type planner struct {
	req     Request
	hostIDs []uint32
	// taken is every subordinate range of either file, so that a free start
	// is free in both and subuid and subgid get the same numbers.
	taken []span
}

// ranges returns the user's lines in f as dockerd matches them.
func (pl *planner) ranges(f *subid.File) []subid.Range {
	if !pl.req.Exists {
		rs := f.RangesOf(pl.req.User)
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
		return rs
	}
	return f.RangesFor(pl.req.User, pl.req.UID)
}

// isMine reports whether a line belongs to the user (by name or uid).
func (pl *planner) isMine(r subid.Range) bool {
	return r.Owner == pl.req.User || (pl.req.Exists && r.Owner == strconv.FormatUint(uint64(pl.req.UID), 10))
}

// collisions describes what [start, end) hits: host ids other than except,
// and other users' ranges in f.
func (pl *planner) collisions(f *subid.File, start, end uint64, except int64, what string) []string {
	var out []string
	for _, id := range pl.hostIDs {
		if uint64(id) >= start && uint64(id) < end && int64(id) != except {
			out = append(out, pl.describeID(id, what))
		}
	}
	probe := subid.Range{Start: uint32(start), Count: uint32(end - start)}
	for _, r := range f.Ranges() {
		if !pl.isMine(r) && r.Overlaps(probe) {
			out = append(out, fmt.Sprintf("%s's range %s (%s:%d)", r.Owner, r.Span(), f.Path(), r.Line))
		}
	}
	return out
}

func (pl *planner) describeID(id uint32, what string) string {
	if what == "uid" {
		if u, ok := pl.req.Accounts.UserByID(id); ok {
			return fmt.Sprintf("host user %s (%d)", u.Name, id)
		}
	}
	if g, ok := pl.req.Accounts.GroupByID(id); ok {
		return fmt.Sprintf("host group %s (%d)", g.Name, id)
	}
	if u, ok := pl.req.Accounts.UserByID(id); ok {
		return fmt.Sprintf("host user %s (%d)", u.Name, id)
	}
	return fmt.Sprintf("host id %d", id)
}

// free finds the lowest start >= from where count ids hit no host id and no
// subordinate range, below 2^32-1.
func (pl *planner) free(from uint64, count uint32, what string) (uint32, error) {
	if from < MinStart {
		from = MinStart
	}
	blocked := append([]span(nil), pl.taken...)
	for _, id := range pl.hostIDs {
		blocked = append(blocked, span{uint64(id), uint64(id) + 1})
	}
	sort.Slice(blocked, func(i, j int) bool { return blocked[i].start < blocked[j].start })
	start := from
	for _, b := range blocked {
		if b.end <= start {
			continue
		}
		if b.start >= start+uint64(count) {
			break
		}
		start = b.end
	}
	if start+uint64(count) > subid.MaxID {
		return 0, fmt.Errorf("no free range of %d %ss left above %d: every id up to %d is a host id or in a subordinate range", count, what, from, uint64(subid.MaxID-1))
	}
	return uint32(start), nil
}

func total(rs []subid.Range) uint64 {
	var n uint64
	for _, r := range rs {
		n += uint64(r.Count)
	}
	return n
}

// fits reports whether the user's existing ranges already give the layout.
func (pl *planner) fits(f *subid.File, rs []subid.Range, id uint32, what string) bool {
	if len(rs) == 0 || total(rs) < uint64(pl.req.Size) {
		return false
	}
	switch pl.req.Layout {
	case Contiguous:
		return rs[0].Start == id
	case Owner:
		if rs[0].Start != id {
			return false
		}
		// Container 0 is the user; every other container id must be clean.
		if len(pl.collisions(f, uint64(id)+1, rs[0].End(), -1, what)) > 0 {
			return false
		}
		for _, r := range rs[1:] {
			if len(pl.collisions(f, uint64(r.Start), r.End(), -1, what)) > 0 {
				return false
			}
		}
		return true
	default: // Isolated
		for _, r := range rs {
			if len(pl.collisions(f, uint64(r.Start), r.End(), -1, what)) > 0 {
				return false
			}
		}
		return true
	}
}

func (pl *planner) side(f *subid.File, id uint32, what string) (Side, error) {
	req := pl.req
	s := Side{File: f.Path()}
	existing := pl.ranges(f)
	mk := func(start, count uint32) subid.Range { return subid.Range{Owner: req.User, Start: start, Count: count} }

	switch {
	case pl.fits(f, existing, id, what):
		// Nothing to do: idempotent.
	case req.Layout == Owner && len(existing) > 0 && existing[0].Start > id &&
		total(existing) >= uint64(req.Size)-1 && pl.cleanAll(f, existing, what):
		// Typical of a user made by useradd (agent:100000:65536): only the
		// one-wide range at its own id is missing, and it sorts first.
		s.Add = []subid.Range{mk(id, 1)}
	case len(existing) > 0 && !req.Force:
		var lines []string
		for _, r := range existing {
			lines = append(lines, fmt.Sprintf("%s (line %d)", r, r.Line))
		}
		return Side{}, fmt.Errorf("%s: %s already has %s that do not fit the %s layout: pass --force to replace them, or choose the layout they follow",
			f.Path(), req.User, strings.Join(lines, ", "), req.Layout)
	default:
		s.Remove = existing
		switch req.Layout {
		case Owner:
			s.Add = []subid.Range{mk(id, 1)}
			if req.Size > 1 {
				start, err := pl.free(uint64(id)+1, req.Size-1, what)
				if err != nil {
					return Side{}, fmt.Errorf("%s: %w", f.Path(), err)
				}
				s.Add = append(s.Add, mk(start, req.Size-1))
			}
		case Contiguous:
			r := mk(id, req.Size)
			if r.End() > subid.MaxID {
				return Side{}, fmt.Errorf("%s: contiguous range %s ends past %d", f.Path(), r.Span(), uint64(subid.MaxID-1))
			}
			if hits := pl.collisions(f, uint64(id)+1, r.End(), -1, what); len(hits) > 0 && !req.Force {
				return Side{}, fmt.Errorf("%s: contiguous range %s covers %s: use the owner layout, or --force", f.Path(), r, summarize(hits))
			}
			s.Add = []subid.Range{r}
		case Isolated:
			start, err := pl.free(MinStart, req.Size, what)
			if err != nil {
				return Side{}, fmt.Errorf("%s: %w", f.Path(), err)
			}
			s.Add = []subid.Range{mk(start, req.Size)}
		}
	}
	// The user's ranges afterwards.
	removed := map[subid.Range]bool{}
	for _, r := range s.Remove {
		removed[r] = true
	}
	for _, r := range existing {
		if !removed[r] {
			s.Ranges = append(s.Ranges, r)
		}
	}
	s.Ranges = append(s.Ranges, s.Add...)
	sort.SliceStable(s.Ranges, func(i, j int) bool { return s.Ranges[i].Start < s.Ranges[j].Start })
	s.Map = MapOf(s.Ranges)
	s.Size = total(s.Ranges)
	if len(s.Ranges) > 0 {
		s.Root = s.Ranges[0].Start
	}
	return s, nil
}

func (pl *planner) cleanAll(f *subid.File, rs []subid.Range, what string) bool {
	for _, r := range rs {
		if len(pl.collisions(f, uint64(r.Start), r.End(), -1, what)) > 0 {
			return false
		}
	}
	return true
}

func summarize(hits []string) string {
	if len(hits) <= 3 {
		return strings.Join(hits, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(hits[:3], ", "), len(hits)-3)
}
