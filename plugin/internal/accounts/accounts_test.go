package accounts

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

const passwd = `root:x:0:0:root:/root:/bin/bash
# a comment

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
agent:x:999:995::/home/agent:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/bash
+nisuser::::::
`

const group = `root:x:0:
daemon:x:1:
docker:x:995:agent,alice
alice:x:1000:
`

func load(t *testing.T, files map[string]string) *DB {
	t.Helper()
	r, err := hostfs.Open(hostfstest.Tree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	db, err := Load(r)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLoadLookups(t *testing.T) {
	db := load(t, map[string]string{PasswdPath: passwd, GroupPath: group})
	tests := []struct {
		in       string
		wantUser string
		ok       bool
	}{{"agent", "agent", true}, {"999", "agent", true}, {"0", "root", true}, {"nisuser", "", false}, {"bob", "", false}, {"4242", "", false}}
	for _, tt := range tests {
		u, ok := db.LookupUser(tt.in)
		if ok != tt.ok || u.Name != tt.wantUser {
			t.Errorf("LookupUser(%q) = %+v, %v", tt.in, u, ok)
		}
	}
	if g, ok := db.LookupGroup("995"); !ok || g.Name != "docker" || !reflect.DeepEqual(g.Members, []string{"agent", "alice"}) {
		t.Errorf("LookupGroup(995) = %+v %v", g, ok)
	}
	if g, ok := db.LookupGroup("alice"); !ok || g.GID != 1000 || g.Line != 4 {
		t.Errorf("LookupGroup(alice) = %+v %v", g, ok)
	}
	if u, _ := db.UserByName("agent"); u.Line != 5 || u.GID != 995 || u.Home != "/home/agent" {
		t.Errorf("agent = %+v", u)
	}
	if got := db.UIDs(); !reflect.DeepEqual(got, []uint32{0, 1, 999, 1000}) {
		t.Errorf("UIDs %v", got)
	}
	if got := db.GIDs(); !reflect.DeepEqual(got, []uint32{0, 1, 995, 1000}) {
		t.Errorf("GIDs %v", got)
	}
	if got := db.IDs(); !reflect.DeepEqual(got, []uint32{0, 1, 995, 999, 1000}) {
		t.Errorf("IDs %v", got)
	}
}

func TestLoadMissingFiles(t *testing.T) {
	db := load(t, nil)
	if len(db.Users) != 0 || len(db.Groups) != 0 {
		t.Fatalf("%+v", db)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, passwd, group, want string }{
		{"passwd fields", "root:x:0:0:root:/root\n", "", "/etc/passwd:1: 6 fields, want 7"},
		{"passwd uid", "root:x:0:0:root:/root:/bin/sh\nbad:x:abc:0::/:/bin/sh\n", "", "/etc/passwd:2: bad uid \"abc\": not a number"},
		{"passwd gid", "bad:x:1:-1::/:/bin/sh\n", "", "/etc/passwd:1: bad gid \"-1\": not a number"},
		{"passwd big uid", "bad:x:4294967295:1::/:/bin/sh\n", "", "/etc/passwd:1: bad uid \"4294967295\": out of range"},
		{"passwd empty name", ":x:1:1::/:/bin/sh\n", "", "/etc/passwd:1: empty user name"},
		{"group fields", "", "root:x:0\n", "/etc/group:1: 3 fields, want 4"},
		{"group gid", "", "\n\nroot:x::\n", "/etc/group:3: bad gid \"\": not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := hostfs.Open(hostfstest.Tree(t, map[string]string{PasswdPath: tt.passwd, GroupPath: tt.group}))
			_, err := Load(r)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, bad := range map[string]bool{"agent": false, "ci-agent_1": false, "": true, "a:b": true, "a b": true, "123": true, "-x": true, "a/b": true} {
		if got := ValidName(name) != ""; got != bad {
			t.Errorf("ValidName(%q) bad=%v", name, got)
		}
	}
}

func TestCreateSystemUserCases(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: useradd --prefix only runs as root")
	}
	tests := []struct {
		name, user, group string
		wantGroup         string
		newGroup          bool
	}{
		{name: "own group", user: "builder", wantGroup: "builder", newGroup: true},
		{name: "existing group", user: "builder", group: "docker", wantGroup: "docker"},
		{name: "new named group", user: "builder", group: "ci", wantGroup: "ci", newGroup: true},
		{name: "group of same name exists", user: "alice2", group: "", wantGroup: "alice2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups := group
			if tt.name == "group of same name exists" {
				groups += "alice2:x:1500:\n"
			}
			dir := hostfstest.Tree(t, map[string]string{PasswdPath: passwd, GroupPath: groups})
			r, _ := hostfs.Open(dir)
			u, err := CreateSystemUser(context.Background(), r, tt.user, tt.group)
			if err != nil {
				t.Fatal(err)
			}
			db, _ := Load(r)
			g, ok := db.GroupByName(tt.wantGroup)
			if !ok || u.GID != g.GID {
				t.Fatalf("user %+v, group %s %+v %v", u, tt.wantGroup, g, ok)
			}
			if u.UID >= 1000 || u.UID == 0 {
				t.Errorf("uid %d is not a system uid", u.UID)
			}
			if len(db.Groups) != strings.Count(groups, "\n")+map[bool]int{true: 1}[tt.newGroup] {
				t.Errorf("groups %+v", db.Groups)
			}
			// A second call finds the user and changes nothing.
			before := hostfstest.Snapshot(t, dir)
			if u2, err := CreateSystemUser(context.Background(), r, tt.user, tt.group); err != nil || u2.UID != u.UID {
				t.Fatalf("second call %+v %v", u2, err)
			}
			hostfstest.Unchanged(t, dir, before)
		})
	}
}

func TestCreateSystemUserBadInput(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{PasswdPath: passwd, GroupPath: group})
	r, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, dir)
	for _, c := range [][2]string{{"a:b", ""}, {"1000", ""}, {"", ""}, {"ok", "x y"}} {
		if _, err := CreateSystemUser(context.Background(), r, c[0], c[1]); err == nil {
			t.Errorf("CreateSystemUser(%q, %q) accepted", c[0], c[1])
		}
	}
	missing := func(string) (string, error) { return "", errors.New("missing") }
	if _, err := createSystemUser(context.Background(), r, "agent2", "", missing); !errors.Is(err, ErrNoTool) {
		t.Errorf("without tools: %v", err)
	}
	hostfstest.Unchanged(t, dir, before)
}

// TestLookupFallsBackToTheDirectory: a user only LDAP or SSSD knows is
// found through the directory, as dockerd finds it through getent; a name
// nobody knows is still missing.
func TestLookupFallsBackToTheDirectory(t *testing.T) {
	db := &DB{Directory: func(database, key string) ([]byte, error) {
		switch database + " " + key {
		case "passwd ldapci", "passwd 5000":
			return []byte("ldapci:*:5000:5000:CI:/home/ldapci:/bin/sh\n"), nil
		case "group ldapci":
			return []byte("ldapci:*:5000:\n"), nil
		}
		return nil, errors.New("exit status 2")
	}}
	for _, key := range []string{"ldapci", "5000"} {
		if u, ok := db.LookupUser(key); !ok || u.UID != 5000 || u.Name != "ldapci" {
			t.Errorf("LookupUser(%q) = %+v %v", key, u, ok)
		}
	}
	if g, ok := db.LookupGroup("ldapci"); !ok || g.GID != 5000 {
		t.Errorf("LookupGroup = %+v %v", g, ok)
	}
	if _, ok := db.LookupUser("nobody-at-all"); ok {
		t.Error("an unknown user was found")
	}
	if _, ok := (&DB{}).LookupUser("ldapci"); ok {
		t.Error("files only: found a user the files do not hold")
	}
}

// TestCreateSystemUserNeverWritesOutsideRoot (red team case 2): with the
// root's /etc an absolute link, the plugin reads the root's own /etc
// (the link resolved inside it) while useradd --prefix would follow it
// out of the root: the user is refused there and no file outside changes.
// The outside /etc is a temporary directory, never this machine's.
func TestCreateSystemUserNeverWritesOutsideRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: useradd --prefix only runs as root")
	}
	outside := hostfstest.Tree(t, map[string]string{"passwd": passwd, "group": group, "shadow": "", "gshadow": ""})
	dir := hostfstest.Tree(t, map[string]string{
		// The link's target as the root sees it: its own copy.
		path.Join(outside, "passwd"): passwd, path.Join(outside, "group"): group,
	})
	if err := os.RemoveAll(filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	r, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, inside := hostfstest.Snapshot(t, outside), hostfstest.Snapshot(t, dir)
	_, err = CreateSystemUser(context.Background(), r, "builder", "")
	if err == nil || !strings.Contains(err.Error(), "outside the root") {
		t.Errorf("want a refusal to change files outside the root, got %v", err)
	}
	hostfstest.Unchanged(t, outside, before)
	hostfstest.Unchanged(t, dir, inside)
}
