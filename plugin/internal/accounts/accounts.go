// Package accounts reads the host's /etc/passwd and /etc/group (under a
// root) and creates a missing system user with the platform's own tools.
package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Paths of the account databases on the host.
const (
	PasswdPath = "/etc/passwd"
	GroupPath  = "/etc/group"
)

// User is one /etc/passwd entry.
type User struct {
	Name string `json:"name"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	Home string `json:"home"`
	Line int    `json:"line"`
}

// Group is one /etc/group entry.
type Group struct {
	Name    string   `json:"name"`
	GID     uint32   `json:"gid"`
	Members []string `json:"members,omitempty"`
	Line    int      `json:"line"`
}

// DB holds the users and groups of a host.
type DB struct {
	Users  []User
	Groups []Group
	// Directory answers for names the files do not hold (LDAP, SSSD), as
	// dockerd's own fallback to `getent` does (pkg/idtools LookupUser in
	// 20.10 and 26.1, internal/usergroup in 28.5); nil reads files only.
	Directory func(database, key string) ([]byte, error)
}

// Getent asks the host's name service switch, as dockerd does.
func Getent(database, key string) ([]byte, error) {
	return exec.Command("getent", database, key).Output()
}

// Load reads passwd and group under root. A missing file counts as empty
// (a fresh root in an image build); a malformed line is an error.
func Load(root hostfs.Root) (*DB, error) {
	db := &DB{}
	data, err := root.ReadFile(PasswdPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if db.Users, err = ParsePasswd(PasswdPath, data); err != nil {
		return nil, err
	}
	data, err = root.ReadFile(GroupPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if db.Groups, err = ParseGroup(GroupPath, data); err != nil {
		return nil, err
	}
	if root.IsHost() {
		// Only on the live host: under --root the files are all there is.
		db.Directory = Getent
	}
	return db, nil
}

// lines yields the entry lines of an account file with their numbers,
// skipping blank lines, comments and NIS compat lines ("+", "-").
func lines(data []byte, fn func(n int, fields []string) error) error {
	for i, raw := range strings.Split(string(data), "\n") {
		s := strings.TrimSuffix(raw, "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
			continue
		}
		if err := fn(i+1, strings.Split(s, ":")); err != nil {
			return err
		}
	}
	return nil
}

func parseID(s string) (uint32, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, fmt.Errorf("out of range")
	}
	return uint32(n), nil
}

// ParsePasswd parses passwd data; errors read "path:line: reason".
func ParsePasswd(path string, data []byte) ([]User, error) {
	var users []User
	err := lines(data, func(n int, f []string) error {
		if len(f) != 7 {
			return fmt.Errorf("%s:%d: %d fields, want 7", path, n, len(f))
		}
		if f[0] == "" {
			return fmt.Errorf("%s:%d: empty user name", path, n)
		}
		uid, err := parseID(f[2])
		if err != nil {
			return fmt.Errorf("%s:%d: bad uid %q: %s", path, n, f[2], err)
		}
		gid, err := parseID(f[3])
		if err != nil {
			return fmt.Errorf("%s:%d: bad gid %q: %s", path, n, f[3], err)
		}
		users = append(users, User{Name: f[0], UID: uid, GID: gid, Home: f[5], Line: n})
		return nil
	})
	return users, err
}

// ParseGroup parses group data; errors read "path:line: reason".
func ParseGroup(path string, data []byte) ([]Group, error) {
	var groups []Group
	err := lines(data, func(n int, f []string) error {
		if len(f) != 4 {
			return fmt.Errorf("%s:%d: %d fields, want 4", path, n, len(f))
		}
		if f[0] == "" {
			return fmt.Errorf("%s:%d: empty group name", path, n)
		}
		gid, err := parseID(f[2])
		if err != nil {
			return fmt.Errorf("%s:%d: bad gid %q: %s", path, n, f[2], err)
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		groups = append(groups, Group{Name: f[0], GID: gid, Members: members, Line: n})
		return nil
	})
	return groups, err
}

// UserByName finds a user by name.
func (db *DB) UserByName(name string) (User, bool) {
	return find(db.Users, func(u User) bool { return u.Name == name })
}

// UserByID finds the first user with uid.
func (db *DB) UserByID(uid uint32) (User, bool) {
	return find(db.Users, func(u User) bool { return u.UID == uid })
}

// LookupUser finds a user by name, or by uid when s is a number, the way
// dockerd reads a userns-remap value.
func (db *DB) LookupUser(s string) (User, bool) {
	return lookup(db, &db.Users, "passwd", s, ParsePasswd)
}

// GroupByName finds a group by name.
func (db *DB) GroupByName(name string) (Group, bool) {
	return find(db.Groups, func(g Group) bool { return g.Name == name })
}

// GroupByID finds the first group with gid.
func (db *DB) GroupByID(gid uint32) (Group, bool) {
	return find(db.Groups, func(g Group) bool { return g.GID == gid })
}

// LookupGroup finds a group by name, or by gid when s is a number.
func (db *DB) LookupGroup(s string) (Group, bool) {
	return lookup(db, &db.Groups, "group", s, ParseGroup)
}

// entry is a passwd or a group entry, which dockerd looks up alike.
type entry interface {
	key() (name string, id uint32)
}

func (u User) key() (string, uint32)  { return u.Name, u.UID }
func (g Group) key() (string, uint32) { return g.Name, g.GID }

// find is the first entry of list that matches.
func find[T any](list []T, match func(T) bool) (T, bool) {
	for _, e := range list {
		if match(e) {
			return e, true
		}
	}
	var none T
	return none, false
}

// lookup finds s in one account database (passwd or group, in *list) by
// name, or by id when s is a number; one the files do not hold is asked of
// the directory (getent) and kept in *list.
func lookup[T entry](db *DB, list *[]T, database, s string, parse func(path string, data []byte) ([]T, error)) (T, bool) {
	match := func(e T) bool { name, _ := e.key(); return name == s }
	if id, err := parseID(s); err == nil {
		match = func(e T) bool { _, eid := e.key(); return eid == id }
	}
	var none T
	if e, ok := find(*list, match); ok || db.Directory == nil {
		return e, ok
	}
	out, err := db.Directory(database, s)
	if err != nil {
		return none, false
	}
	found, err := parse("getent "+database+" "+s, out)
	if err != nil || len(found) != 1 {
		return none, false
	}
	*list = append(*list, found[0])
	return found[0], true
}

// UIDs lists every uid in passwd, sorted, without repeats.
func (db *DB) UIDs() []uint32 {
	var ids []uint32
	for _, u := range db.Users {
		ids = append(ids, u.UID)
	}
	return uniq(ids)
}

// GIDs lists every gid in group and every primary gid in passwd, sorted.
func (db *DB) GIDs() []uint32 {
	var ids []uint32
	for _, g := range db.Groups {
		ids = append(ids, g.GID)
	}
	for _, u := range db.Users {
		ids = append(ids, u.GID)
	}
	return uniq(ids)
}

// IDs lists every uid and gid in use, for ranges that should collide with neither.
func (db *DB) IDs() []uint32 {
	return uniq(append(db.UIDs(), db.GIDs()...))
}

func uniq(ids []uint32) []uint32 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out
}
