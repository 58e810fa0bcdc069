// Package rangeplan chooses the subordinate id ranges of the remap user for a
// layout (owner, contiguous, isolated), computes the map dockerd will build
// from them, and reviews existing ranges for status and doctor.
package rangeplan

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Layout is how container ids are laid onto host ids.
type Layout string

// The layouts (see DESIGN.md).
const (
	// Owner: container root is the user itself (a one-wide range at its
	// uid/gid, written above every other line of the user, since dockerd
	// reads them in file order); every other container id lands on a free range.
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

// Side is the plan for one of subuid or subgid.
type Side struct {
	// File is the path of the subuid or subgid file.
	File string `json:"file"`
	// Add are the lines to add: the first goes just above Above when that
	// is set (dockerd reads a user's lines in file order), the rest at the
	// end. Remove are the lines to remove (only with Force).
	Add    []subid.Range `json:"add,omitempty"`
	Above  *subid.Range  `json:"above,omitempty"`
	Remove []subid.Range `json:"remove,omitempty"`
	// Ranges are the lines dockerd will take afterwards, in file order.
	Ranges []subid.Range `json:"ranges"`
	// Map is the resulting uid_map or gid_map.
	Map idmap.Map `json:"map"`
	// Root is the host id of container id 0.
	Root uint32 `json:"root"`
	// Size is how many container ids are mapped.
	Size uint64 `json:"size"`
}

// Apply makes the side's edit in f. The line that Above names may be one
// to remove: it goes only after the first new line took its place.
func (s Side) Apply(f *subid.File) error {
	anchorGoes := false
	for _, r := range s.Remove {
		if s.Above != nil && r.Same(*s.Above) {
			anchorGoes = true
			continue
		}
		f.Remove(r.Owner, r.Start, r.Count)
	}
	for i, r := range s.Add {
		var err error
		if i == 0 && s.Above != nil {
			_, err = f.InsertAbove(r, *s.Above)
		} else {
			_, err = f.Add(r.Owner, r.Start, r.Count)
		}
		if err != nil {
			return err
		}
	}
	if anchorGoes && !(len(s.Add) > 0 && s.Add[0].Same(*s.Above)) {
		f.Remove(s.Above.Owner, s.Above.Start, s.Above.Count)
	}
	return nil
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
	// Rule is how the daemon picks the user's lines ("" for the newest).
	Rule idmap.Rule
	// Force replaces ranges of the user that do not fit, and allows a
	// contiguous range that covers host ids or other users' ranges.
	Force bool
	// Replace replaces the user's lines that do not fit instead of
	// extending them: they are an earlier enable's, not the operator's.
	Replace        bool
	Subuid, Subgid *subid.File
	Accounts       *accounts.DB
}

// Owner is the remap user as dockerd looks it up in both files (by the
// user's name and uid, never the group's).
func (req Request) Owner() idmap.Owner {
	return idmap.Owner{Name: req.User, UID: req.UID, Known: req.Exists}
}

// Make plans the ranges. It changes nothing: the caller applies
// Plan.UID and Plan.GID to the files (Side.Apply).
func Make(req Request) (Plan, error) {
	if req.Size == 0 {
		req.Size = DefaultSize
	}
	if uint64(req.Size) >= subid.MaxID {
		return Plan{}, fmt.Errorf("size %d: past %d", req.Size, uint64(subid.MaxID-1))
	}
	if req.Rule == "" {
		req.Rule = idmap.RuleFor("")
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
	pl := &planner{req: req, owner: req.Owner(), hostIDs: req.Accounts.IDs()}
	for _, f := range []*subid.File{req.Subuid, req.Subgid} {
		for _, r := range f.Ranges() {
			pl.taken = append(pl.taken, span{uint64(r.Start), r.End()})
		}
	}
	plan := Plan{Layout: req.Layout, User: req.User}
	var err error
	if plan.UID, err = pl.side(req.Subuid, req.UID, UIDs); err != nil {
		return Plan{}, err
	}
	if plan.GID, err = pl.side(req.Subgid, req.GID, GIDs); err != nil {
		return Plan{}, err
	}
	plan.Unchanged = len(plan.UID.Add)+len(plan.UID.Remove)+len(plan.GID.Add)+len(plan.GID.Remove) == 0
	return plan, nil
}

type span struct{ start, end uint64 }

type planner struct {
	req     Request
	owner   idmap.Owner
	hostIDs []uint32
	// taken is every subordinate range of either file, so that a free start
	// is free in both and subuid and subgid get the same numbers.
	taken []span
}

// free finds the lowest start >= from where count ids hit no host id and no
// subordinate range other than the ignored ones, below 2^32-1.
func (pl *planner) free(from uint64, count uint32, what Kind, ignore ...span) (uint32, error) {
	if from < MinStart {
		from = MinStart
	}
	var blocked []span
	for _, t := range pl.taken {
		if !slices.Contains(ignore, t) {
			blocked = append(blocked, t)
		}
	}
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

// replacement finds where the new wide line of count ids goes when the
// user's lines are replaced: where the old map put container id from, when
// the wider line still fits there once the user's own lines are gone (the
// ids already on disk then keep their host ids, and so does a data root
// named after container root), else at the lowest free start >= lowest.
func (pl *planner) replacement(old idmap.Map, from uint32, lowest uint64, count uint32, what Kind) (uint32, error) {
	if host, ok := old.ToHost(uint64(from)); ok {
		var own []span
		for _, f := range []*subid.File{pl.req.Subuid, pl.req.Subgid} {
			for _, r := range pl.req.Rule.Lines(f, pl.owner) {
				own = append(own, span{uint64(r.Start), r.End()})
			}
		}
		if start, err := pl.free(uint64(host), count, what, own...); err == nil && start == host {
			return start, nil
		}
	}
	return pl.free(lowest, count, what)
}

func total(rs []subid.Range) uint64 {
	var n uint64
	for _, r := range rs {
		n += uint64(r.Count)
	}
	return n
}

// rootFits reports whether container id 0 of the user's lines lands where
// the layout wants it: the user's own id, or for gids in the owner layout
// also another host group given one-wide (Buildkite maps container gid 0
// to the docker group, say).
func (pl *planner) rootFits(rs []subid.Range, id uint32, what Kind) bool {
	if len(rs) == 0 {
		return false
	}
	first := rs[0]
	if first.Start == id {
		return true
	}
	if what == GIDs && pl.req.Layout == Owner && first.Count == 1 && first.Start != 0 {
		_, ok := pl.req.Accounts.GroupByID(first.Start)
		return ok
	}
	return false
}

func (pl *planner) side(f *subid.File, id uint32, what Kind) (Side, error) {
	req := pl.req
	s := Side{File: f.Path()}
	existing := req.Rule.Lines(f, pl.owner)
	key := pl.owner.KeyFor(f)
	mk := func(start, count uint32) subid.Range { return subid.Range{Owner: key, Start: start, Count: count} }
	rootOK := pl.rootFits(existing, id, what)
	// What lands where it must not, container root excepted when it is right.
	hits := Collisions(f, idmap.Build(existing), pl.owner, what, req.Accounts, rootOK)
	clean := len(hits) == 0
	if req.Layout == Contiguous && req.Force {
		clean = true // the seed's layout, covering host ids on purpose
	}
	wide := total(existing) >= uint64(req.Size)

	switch {
	case len(existing) > 0 && clean && (rootOK || req.Layout == Isolated) && wide:
		// Nothing to do: idempotent, and hosts set up by hand or by another
		// tool in a working layout stay as they are.
	case req.Layout == Owner && len(existing) > 0 && clean && !req.Replace:
		// Typical of a user made by useradd (agent:100000:65536): keep the
		// user's own range as the wide part, put the one-wide line at its
		// own id above every line dockerd takes, and widen when needed.
		width := total(existing)
		if !rootOK {
			first := pl.firstOwned(f)
			s.Add, s.Above = []subid.Range{mk(id, 1)}, &first
			width++
		}
		if width < uint64(req.Size) {
			start, err := pl.free(uint64(id)+1, uint32(uint64(req.Size)-width), what)
			if err != nil {
				return Side{}, fmt.Errorf("%s: %w", f.Path(), err)
			}
			s.Add = append(s.Add, mk(start, uint32(uint64(req.Size)-width)))
		}
	case len(existing) > 0 && !req.Force && !req.Replace:
		var lines []string
		for _, r := range existing {
			lines = append(lines, fmt.Sprintf("%s (line %d)", r, r.Line))
		}
		why := "do not fit the " + string(req.Layout) + " layout"
		if len(hits) > 0 {
			why = summarize(hits)
		} else if !wide {
			why = fmt.Sprintf("map only %d %ss, fewer than --size %d", total(existing), what, req.Size)
		}
		advice := "pass --force to replace them, or choose the layout they follow"
		if req.Layout == Contiguous && rootOK && wide {
			advice = "pass --force to keep them, or use the owner layout"
		}
		return Side{}, fmt.Errorf("%s: %s already has %s: %s: %s", f.Path(), req.User, strings.Join(lines, ", "), why, advice)
	default:
		s.Remove = existing
		switch req.Layout {
		case Owner:
			s.Add = []subid.Range{mk(id, 1)}
			if req.Size > 1 {
				start, err := pl.replacement(idmap.Build(existing), 1, uint64(id)+1, req.Size-1, what)
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
			if hits := Collisions(f, idmap.Build([]subid.Range{r}), pl.owner, what, req.Accounts, true); len(hits) > 0 && !req.Force {
				return Side{}, fmt.Errorf("%s: contiguous range %s: %s: use the owner layout, or --force", f.Path(), r, summarize(hits))
			}
			s.Add = []subid.Range{r}
		case Isolated:
			start, err := pl.replacement(idmap.Build(existing), 0, MinStart, req.Size, what)
			if err != nil {
				return Side{}, fmt.Errorf("%s: %w", f.Path(), err)
			}
			s.Add = []subid.Range{mk(start, req.Size)}
		}
		if len(s.Add) > 0 && len(existing) > 0 {
			// Where the user's lines were, so that file order puts the new
			// first line first.
			first := pl.firstOwned(f)
			s.Above = &first
		}
	}
	// The map dockerd will build from the edited file.
	after := f.Clone()
	if err := s.Apply(after); err != nil {
		return Side{}, err
	}
	s.Ranges = req.Rule.Lines(after, pl.owner)
	s.Map = idmap.Build(s.Ranges)
	s.Size = s.Map.Size()
	s.Root, _ = s.Map.Root()
	return s, nil
}

// firstOwned is the user's first line in the file, by name or uid: a line
// inserted above it comes first for every Docker version.
func (pl *planner) firstOwned(f *subid.File) subid.Range {
	for _, r := range f.Ranges() {
		if pl.owner.Owns(r) {
			return r
		}
	}
	return subid.Range{}
}

func summarize(hits []Warning) string {
	msgs := make([]string, len(hits))
	for i, h := range hits {
		msgs[i] = h.Message
	}
	if len(msgs) <= 3 {
		return strings.Join(msgs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(msgs[:3], ", "), len(msgs)-3)
}
