// Package remapspec parses a userns-remap value (USER, USER:GROUP, UID,
// UID:GID or "default") and resolves it against the host's accounts the way
// dockerd does.
package remapspec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
)

// Default is the value that makes dockerd create and use DefaultUser.
const (
	Default     = "default"
	DefaultUser = "dockremap"
)

// Errors callers branch on (wrapped with the value).
var (
	ErrUnknownUser  = errors.New("no such user")
	ErrUnknownGroup = errors.New("no such group")
)

// Spec is a parsed userns-remap value.
type Spec struct {
	// User is the user part as written: a name or a numeric uid.
	User string
	// Group is the group part as written, "" when absent.
	Group string
	// Default is true for "default" (User is then DefaultUser).
	Default bool
}

// Parse checks the form of a userns-remap value; it does not look anything up.
func Parse(s string) (Spec, error) {
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("userns-remap value %q: %s", s, why)
	}
	if s == "" {
		return bad("empty")
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return bad("white space is not allowed")
	}
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return bad("more than one ':', want USER, USER:GROUP, UID, UID:GID or default")
	}
	sp := Spec{User: parts[0]}
	if len(parts) == 2 {
		sp.Group = parts[1]
		if sp.Group == "" {
			return bad("empty group after ':'")
		}
	}
	if sp.User == "" {
		return bad("empty user before ':'")
	}
	if sp.User == Default {
		if len(parts) == 2 {
			return bad("\"default\" takes no group (dockerd uses the dockremap group)")
		}
		return Spec{User: DefaultUser, Default: true}, nil
	}
	for _, part := range []struct{ what, v string }{{"user", sp.User}, {"group", sp.Group}} {
		if part.v == "" {
			continue
		}
		if isNumber(part.v) {
			if _, err := strconv.ParseUint(part.v, 10, 32); err != nil || part.v == "4294967295" {
				return bad(part.what + " id out of range")
			}
			continue
		}
		if why := accounts.ValidName(part.v); why != "" {
			return bad(part.what + ": " + why)
		}
	}
	if sp.User == "root" || isZero(sp.User) {
		return bad("container root would be host root, and dockerd silently turns remapping off for root")
	}
	if sp.Group == "root" || isZero(sp.Group) {
		return bad("container gid 0 would be host gid 0 (root group)")
	}
	return sp, nil
}

func isNumber(s string) bool {
	return s != "" && strings.TrimLeft(s, "0123456789") == ""
}

func isZero(s string) bool { return isNumber(s) && strings.Trim(s, "0") == "" }

// String is the value to write as userns-remap.
func (s Spec) String() string {
	if s.Default {
		return Default
	}
	if s.Group != "" {
		return s.User + ":" + s.Group
	}
	return s.User
}

// Identity is what a Spec resolves to on a host.
type Identity struct {
	User  string `json:"user"`
	UID   uint32 `json:"uid"`
	Group string `json:"group"`
	GID   uint32 `json:"gid"`
	// Exists is false only for dockremap before dockerd (or enable) creates it;
	// UID and GID are then unknown (zero).
	Exists bool `json:"exists"`
}

// Resolve looks the spec up as dockerd does: a numeric user is a uid that
// must exist; without a group, dockerd wants a group of the user's name (or,
// for a uid, a group with that gid). "default" may name a dockremap that does
// not exist yet.
func (s Spec) Resolve(db *accounts.DB) (Identity, error) {
	u, ok := db.LookupUser(s.User)
	if !ok {
		if s.Default {
			return Identity{User: DefaultUser, Group: DefaultUser}, nil
		}
		if isNumber(s.User) {
			return Identity{}, fmt.Errorf("userns-remap %s: uid %s: %w in %s", s, s.User, ErrUnknownUser, accounts.PasswdPath)
		}
		return Identity{}, fmt.Errorf("userns-remap %s: user %s: %w in %s", s, s.User, ErrUnknownUser, accounts.PasswdPath)
	}
	if u.UID == 0 {
		return Identity{}, fmt.Errorf("userns-remap %s: user %s has uid 0: container root would be host root", s, u.Name)
	}
	groupKey := s.Group
	if groupKey == "" {
		// dockerd: a name looks up the group of the same name; a uid, the gid of the same number.
		groupKey = s.User
		if s.Default {
			groupKey = DefaultUser
		}
	}
	g, ok := db.LookupGroup(groupKey)
	if !ok {
		what := "group " + groupKey
		if isNumber(groupKey) {
			what = "gid " + groupKey
		}
		hint := ""
		if s.Group == "" {
			hint = fmt.Sprintf(" (dockerd looks up a group named like the user; give one as %s:GROUP)", s.User)
		}
		return Identity{}, fmt.Errorf("userns-remap %s: %s: %w in %s%s", s, what, ErrUnknownGroup, accounts.GroupPath, hint)
	}
	if g.GID == 0 {
		return Identity{}, fmt.Errorf("userns-remap %s: group %s has gid 0: container gid 0 would be host gid 0", s, g.Name)
	}
	return Identity{User: u.Name, UID: u.UID, Group: g.Name, GID: g.GID, Exists: true}, nil
}
