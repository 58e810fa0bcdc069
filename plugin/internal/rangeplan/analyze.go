package rangeplan

import (
	"fmt"
	"strconv"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Warning codes, for callers that filter or count them.
const (
	WarnNoRanges = "no-ranges"
	WarnHostID   = "host-id"
	WarnOverlap  = "overlap"
	WarnNarrow   = "narrow"
)

// Warning is one finding about a user's ranges.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Message }

// maxHostHits bounds how many host ids one range lists before "and N more".
const maxHostHits = 3

// Analyze reviews the ranges dockerd would use for user (uid when exists)
// and says what is wrong: no ranges, a container id that lands on a host user
// or group, a range that overlaps another user's, fewer than 65536 ids.
// Container id 0 landing on the user's own uid, or on any gid (the chosen
// group), is the point of remapping and not reported.
func Analyze(user string, uid uint32, exists bool, subuid, subgid *subid.File, db *accounts.DB) []Warning {
	var out []Warning
	for _, side := range []struct {
		f    *subid.File
		what string
	}{{subuid, "uid"}, {subgid, "gid"}} {
		var rs []subid.Range
		if exists {
			rs = side.f.RangesFor(user, uid)
		} else {
			rs = side.f.RangesOf(user)
		}
		if len(rs) == 0 {
			out = append(out, Warning{WarnNoRanges, fmt.Sprintf("%s has no range in %s: dockerd refuses to start with userns-remap set to it", user, side.f.Path())})
			continue
		}
		mine := func(r subid.Range) bool {
			return r.Owner == user || (exists && r.Owner == strconv.FormatUint(uint64(uid), 10))
		}
		for _, m := range MapOf(rs) {
			var hits []string
			extra := 0
			end := uint64(m.Host) + uint64(m.Size)
			for from := uint64(m.Host); ; {
				name, id, ok := hostIDAt(db, side.what, from, end)
				if !ok {
					break
				}
				from = id + 1
				container := uint64(m.Container) + id - uint64(m.Host)
				if container == 0 && (side.what == "gid" || (exists && id == uint64(uid))) {
					continue
				}
				if len(hits) < maxHostHits {
					hits = append(hits, fmt.Sprintf("container %s %d lands on host %s (%d)", side.what, container, name, id))
				} else {
					extra++
				}
			}
			for _, h := range hits {
				out = append(out, Warning{WarnHostID, h})
			}
			if extra > 0 {
				out = append(out, Warning{WarnHostID, fmt.Sprintf("and %d more container %ss land on host ids (%s range at host %d)", extra, side.what, user, m.Host)})
			}
		}
		for _, r := range rs {
			for _, o := range side.f.Ranges() {
				if !mine(o) && o.Overlaps(r) {
					out = append(out, Warning{WarnOverlap, fmt.Sprintf("%s:%d: %s's range %s overlaps %s's %s (line %d)", side.f.Path(), r.Line, user, r.Span(), o.Owner, o.Span(), o.Line)})
				}
			}
		}
		if n := total(rs); n < DefaultSize {
			out = append(out, Warning{WarnNarrow, fmt.Sprintf("%s maps only %d container %ss (fewer than %d): images with files owned by %s %d or above fail to pull", user, n, side.what, DefaultSize, side.what, n)})
		}
	}
	return out
}

// hostIDAt finds the lowest host uid (or gid) in [from, end) and names it.
func hostIDAt(db *accounts.DB, what string, from, end uint64) (string, uint64, bool) {
	best, found := uint64(0), false
	name := ""
	if what == "uid" {
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
