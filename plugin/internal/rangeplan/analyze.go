package rangeplan

import (
	"fmt"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Kind says which file a check is about: container uids land on host
// users, container gids on host groups.
type Kind string

// The two kinds of ids.
const (
	UIDs Kind = "uid"
	GIDs Kind = "gid"
)

// Warning codes, for callers that filter or count them.
const (
	WarnNoRanges = "no-ranges"
	WarnHostID   = "host-id"
	WarnOverlap  = "overlap"
	WarnNarrow   = "narrow"
	WarnSkipped  = "skipped"
)

// Warning is one finding about a user's ranges.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Message }

// maxHostHits bounds how many host ids one map line lists before "and N more".
const maxHostHits = 3

// Collisions says what the map m of owner's lines in f hits: a container id
// that lands on a host user (uids) or group (gids), another owner's range,
// or a host id that two of the owner's own lines share (the kernel refuses
// such a map). Container id 0 is left out when rootOK: landing on the user
// (or its chosen group) is the point of the owner layout.
func Collisions(f *subid.File, m idmap.Map, o idmap.Owner, what Kind, db *accounts.DB, rootOK bool) []Warning {
	var out []Warning
	for i, l := range m {
		end := uint64(l.Host) + uint64(l.Size)
		extra := 0
		hits := 0
		for from := uint64(l.Host); ; {
			name, id, ok := hostIDAt(db, what, from, end)
			if !ok {
				break
			}
			from = id + 1
			container := uint64(l.Container) + id - uint64(l.Host)
			if container == 0 && rootOK {
				continue
			}
			if hits < maxHostHits {
				out = append(out, Warning{WarnHostID, fmt.Sprintf("container %s %d lands on host %s (%d)", what, container, name, id)})
				hits++
			} else {
				extra++
			}
		}
		if extra > 0 {
			out = append(out, Warning{WarnHostID, fmt.Sprintf("and %d more container %ss land on host ids (%s's range at host %d)", extra, what, o.Name, l.Host)})
		}
		mine := subid.Range{Start: l.Host, Count: l.Size}
		for _, r := range f.Ranges() {
			if !r.Overlaps(mine) {
				continue
			}
			if !o.Owns(r) {
				out = append(out, Warning{WarnOverlap, fmt.Sprintf("container %ss from %d land on %s's range %s (%s:%d)", what, l.Container, r.Owner, r.Span(), f.Path(), r.Line)})
			}
		}
		for _, later := range m[i+1:] {
			if mine.Overlaps(subid.Range{Start: later.Host, Count: later.Size}) {
				out = append(out, Warning{WarnOverlap, fmt.Sprintf("container %ss %d and %d land on the same host %s: %s's lines in %s overlap, and the kernel refuses such a map", what, l.Container, later.Container, what, o.Name, f.Path())})
			}
		}
	}
	return out
}

// Analyze reviews the lines dockerd takes for the owner under the rule and
// says what is wrong: no lines, a container id that lands on a host user or
// group or on another user's range, lines the rule skips, fewer than 65536
// ids. Container uid 0 on the user's own uid, and container gid 0 on any
// group (the chosen one), are the point of remapping and not reported.
func Analyze(rule idmap.Rule, o idmap.Owner, subuid, subgid *subid.File, db *accounts.DB) []Warning {
	var out []Warning
	for _, side := range []struct {
		f    *subid.File
		what Kind
	}{{subuid, UIDs}, {subgid, GIDs}} {
		rs := rule.Lines(side.f, o)
		if len(rs) == 0 {
			out = append(out, Warning{WarnNoRanges, fmt.Sprintf("%s has no range in %s: dockerd refuses to start with userns-remap set to it", o.Name, side.f.Path())})
			continue
		}
		rootOK := side.what == GIDs || (o.Known && rs[0].Start == o.UID)
		out = append(out, Collisions(side.f, idmap.Build(rs), o, side.what, db, rootOK)...)
		for _, r := range rule.Skipped(side.f, o) {
			out = append(out, Warning{WarnSkipped, fmt.Sprintf("%s:%d: %s is not read by %s: lines keyed by %s's uid %d exist, and dockerd then reads only those",
				side.f.Path(), r.Line, r, rule.Describe(), o.Name, o.UID)})
		}
		if n := total(rs); n < DefaultSize {
			out = append(out, Warning{WarnNarrow, fmt.Sprintf("%s maps only %d container %ss (fewer than %d): images with files owned by %s %d or above fail to pull", o.Name, n, side.what, DefaultSize, side.what, n)})
		}
	}
	return out
}

// hostIDAt finds the lowest host uid (or gid) in [from, end) and names it.
func hostIDAt(db *accounts.DB, what Kind, from, end uint64) (string, uint64, bool) {
	best, found := uint64(0), false
	name := ""
	if what == UIDs {
		for _, u := range db.Users {
			if id := uint64(u.UID); id >= from && id < end && (!found || id < best) {
				best, found, name = id, true, "user "+u.Name
			}
		}
	} else {
		for _, g := range db.Groups {
			if id := uint64(g.GID); id >= from && id < end && (!found || id < best) {
				best, found, name = id, true, "group "+g.Name
			}
		}
	}
	return name, best, found
}
