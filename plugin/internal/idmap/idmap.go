// Package idmap is the one model of the id map dockerd builds from
// /etc/subuid and /etc/subgid for its remap user: which lines it takes, per
// Docker version, and how it lays container ids 0, 1, 2, ... across them.
// Everything that predicts a map (enable's planner, status, doctor, test,
// check-image, the verification after a restart) asks this package.
//
// What dockerd does, read in moby's source at each tag and confirmed in
// DinD (see the tests and the conformance scenarios):
//
//   - v20.10.24 and v26.1.5, pkg/idtools/idtools_unix.go: NewIdentityMapping
//     (20.10) / LoadIdentityMapping (26.1) call lookupSubUIDRanges and
//     lookupSubGIDRanges with the remap *user*: parseSubidFile(uid as a
//     string) and only when that finds no line, parseSubidFile(name). The
//     same for /etc/subgid: the group of userns-remap plays no part in it.
//     pkg/idtools/idtools.go createIDMap lays the lines in file order; the
//     sort.Interface on ranges is never called.
//   - v28.0.0 to v28.5.2, internal/usergroup/lookup_unix.go (and
//     docker-v29.1.0, daemon/internal/usergroup/lookup_unix.go):
//     lookupSubRangesFile takes every line whose owner is the name or the
//     uid (moby/sys/user ParseSubIDFileFilter), in file order. v27.5.1
//     still has the 26.1 rule, so the change is at 28.0.
//   - Both skip blank lines; 20.10 and 26.1 skip '#' lines, 28.x reads them
//     as lines whose owner starts with '#', which never names a user.
//
// The host id of container id 0 names the remapped data root:
// <data-root>/<uid>.<gid> (daemon/daemon_unix.go setupRemappedRoot).
package idmap

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// Rule is how a Docker version picks the remap user's lines.
type Rule string

const (
	// UIDFirst (Docker 27 and older): the lines keyed by the user's uid, and
	// only when there are none, the lines keyed by its name.
	UIDFirst Rule = "uid-first"
	// NameAndUID (Docker 28 and newer): every line keyed by the name or
	// the uid, in file order.
	NameAndUID Rule = "name-and-uid"
)

// Rules lists every rule, oldest first.
var Rules = []Rule{UIDFirst, NameAndUID}

// firstNameAndUID is the first Docker major version with NameAndUID.
const firstNameAndUID = 28

// RuleFor returns the rule of a daemon version as `docker version` prints
// it ("26.1.5", "28.5.2+dfsg1"). An unknown or empty version gets the
// newest rule: a plan made for it keeps container root right under both
// (see Owner.KeyFor).
func RuleFor(version string) Rule {
	if n, ok := daemon.MajorVersion(version); !ok || n >= firstNameAndUID {
		return NameAndUID
	}
	return UIDFirst
}

// Describe names the rule for people: "Docker 27 and older".
func (r Rule) Describe() string {
	if r == UIDFirst {
		return fmt.Sprintf("Docker %d and older", firstNameAndUID-1)
	}
	return fmt.Sprintf("Docker %d and newer", firstNameAndUID)
}

// Owner is the remap user as dockerd looks it up in both files.
type Owner struct {
	Name string
	UID  uint32
	// Known is false for a user that does not exist yet (dockremap before
	// dockerd creates it): only lines keyed by its name can be its own.
	Known bool
}

// uidKey is the owner field of a line keyed by uid, "" when unknown.
func (o Owner) uidKey() string {
	if !o.Known {
		return ""
	}
	return strconv.FormatUint(uint64(o.UID), 10)
}

// Owns reports whether a line is keyed by the user's name or uid.
func (o Owner) Owns(r subid.Range) bool {
	return r.Owner == o.Name || (o.Known && r.Owner == o.uidKey())
}

// KeyFor is the owner field to write on a new line so that every rule takes
// it: the uid when the user already has uid-keyed lines (UIDFirst would
// ignore a name-keyed one then), the name otherwise.
func (o Owner) KeyFor(f *subid.File) string {
	for _, r := range f.Ranges() {
		if o.Known && r.Owner == o.uidKey() {
			return r.Owner
		}
	}
	return o.Name
}

// Lines returns the lines of f that dockerd takes for the owner under the
// rule, in file order.
func (r Rule) Lines(f *subid.File, o Owner) []subid.Range {
	var byUID, byName, both []subid.Range
	for _, l := range f.Ranges() {
		switch {
		case o.Known && l.Owner == o.uidKey():
			byUID = append(byUID, l)
			both = append(both, l)
		case l.Owner == o.Name:
			byName = append(byName, l)
			both = append(both, l)
		}
	}
	if r == UIDFirst {
		if len(byUID) > 0 {
			return byUID
		}
		return byName
	}
	return both
}

// Skipped returns the owner's lines that the rule does not take (name-keyed
// lines beside uid-keyed ones under UIDFirst), for status and doctor.
func (r Rule) Skipped(f *subid.File, o Owner) []subid.Range {
	taken := map[int]bool{}
	for _, l := range r.Lines(f, o) {
		taken[l.Line] = true
	}
	var out []subid.Range
	for _, l := range f.Ranges() {
		if o.Owns(l) && !taken[l.Line] {
			out = append(out, l)
		}
	}
	return out
}

// Of is the map dockerd builds for the owner from f under the rule.
func (r Rule) Of(f *subid.File, o Owner) Map { return Build(r.Lines(f, o)) }

// Line is one line of /proc/PID/uid_map or gid_map: Size ids from
// Container on map to Host on.
type Line struct {
	Container uint32 `json:"container"`
	Host      uint32 `json:"host"`
	Size      uint32 `json:"size"`
}

// String is the line as the kernel prints it, without its padding.
func (l Line) String() string { return fmt.Sprintf("%d %d %d", l.Container, l.Host, l.Size) }

// Map is a whole uid_map or gid_map.
type Map []Line

// Build lays container ids 0, 1, 2, ... across ranges in the order given,
// as createIDMap does.
func Build(ranges []subid.Range) Map {
	var out Map
	var next uint64
	for _, r := range ranges {
		if next >= subid.MaxID {
			break
		}
		out = append(out, Line{Container: uint32(next), Host: r.Start, Size: r.Count})
		next += uint64(r.Count)
	}
	return out
}

// Parse reads the kernel's /proc/PID/uid_map or gid_map text (padded
// columns, one line per range).
func Parse(text string) (Map, error) {
	var m Map
	for _, raw := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		var l Line
		if n, err := fmt.Sscan(raw, &l.Container, &l.Host, &l.Size); err != nil || n != 3 {
			return nil, fmt.Errorf("parse id map line %q: want three numbers", raw)
		}
		m = append(m, l)
	}
	return m, nil
}

// String writes the lines joined by ", ": "0 999 1, 1 165536 65535".
func (m Map) String() string {
	parts := make([]string, len(m))
	for i, l := range m {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// Root is the host id of container id 0; false for an empty map.
func (m Map) Root() (uint32, bool) {
	if len(m) == 0 {
		return 0, false
	}
	return m[0].Host, true
}

// Size is how many container ids the map covers: 0 up to Size-1.
func (m Map) Size() uint64 {
	var n uint64
	for _, l := range m {
		n += uint64(l.Size)
	}
	return n
}

// ToHost returns the host id of a container id; false when unmapped.
func (m Map) ToHost(container uint64) (uint32, bool) {
	for _, l := range m {
		if container >= uint64(l.Container) && container < uint64(l.Container)+uint64(l.Size) {
			return uint32(uint64(l.Host) + container - uint64(l.Container)), true
		}
	}
	return 0, false
}

// ToContainer returns the container id of a host id; false when unmapped.
func (m Map) ToContainer(host uint32) (uint32, bool) {
	for _, l := range m {
		if uint64(host) >= uint64(l.Host) && uint64(host) < uint64(l.Host)+uint64(l.Size) {
			return uint32(uint64(l.Container) + uint64(host) - uint64(l.Host)), true
		}
	}
	return 0, false
}

// Identity is the map of a process outside any user namespace (the
// kernel's uid_map of the initial namespace).
var Identity = Map{{Container: 0, Host: 0, Size: 4294967295}}

// Equal reports whether two maps have the same lines.
func (m Map) Equal(o Map) bool {
	if len(m) != len(o) {
		return false
	}
	for i := range m {
		if m[i] != o[i] {
			return false
		}
	}
	return true
}

// Keeps reports whether every container id of m lands on the same host id
// in o: files already written under m still read as the same container ids
// under o (a wider map that only adds ids keeps them).
func (m Map) Keeps(o Map) bool {
	for _, l := range m {
		end := uint64(l.Container) + uint64(l.Size)
		for c := uint64(l.Container); c < end; {
			host, ok := o.ToHost(c)
			if !ok || uint64(host) != uint64(l.Host)+c-uint64(l.Container) {
				return false
			}
			// The rest of o's line holding c keeps the same offset.
			for _, n := range o {
				if c >= uint64(n.Container) && c < uint64(n.Container)+uint64(n.Size) {
					c = uint64(n.Container) + uint64(n.Size)
					break
				}
			}
		}
	}
	return true
}
