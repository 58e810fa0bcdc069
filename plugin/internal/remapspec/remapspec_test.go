package remapspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"agent", Spec{User: "agent"}},
		{"agent:docker", Spec{User: "agent", Group: "docker"}},
		{"999", Spec{User: "999"}},
		{"999:995", Spec{User: "999", Group: "995"}},
		{"agent:995", Spec{User: "agent", Group: "995"}},
		{"default", Spec{User: "dockremap", Default: true}},
		{"dockremap", Spec{User: "dockremap"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `userns-remap value "": empty`},
		{"a:b:c", `userns-remap value "a:b:c": more than one ':', want USER, USER:GROUP, UID, UID:GID or default`},
		{"agent:", `userns-remap value "agent:": empty group after ':'`},
		{":docker", `userns-remap value ":docker": empty user before ':'`},
		{":", `userns-remap value ":": empty group after ':'`},
		{"root", `userns-remap value "root": container root would be host root, and dockerd silently turns remapping off for root`},
		{"0", `userns-remap value "0": container root would be host root, and dockerd silently turns remapping off for root`},
		{"000:5", `userns-remap value "000:5": container root would be host root, and dockerd silently turns remapping off for root`},
		{"agent:root", `userns-remap value "agent:root": container gid 0 would be host gid 0 (root group)`},
		{"agent:0", `userns-remap value "agent:0": container gid 0 would be host gid 0 (root group)`},
		{" agent", `userns-remap value " agent": white space is not allowed`},
		{"agent\n", `userns-remap value "agent\n": white space is not allowed`},
		{"default:docker", `userns-remap value "default:docker": "default" takes no group (dockerd uses the dockremap group)`},
		{"4294967296", `userns-remap value "4294967296": user id out of range`},
		{"4294967295", `userns-remap value "4294967295": user id out of range`},
		{"-1", `userns-remap value "-1": user: name starts with '-'`},
		{"a,b", `userns-remap value "a,b": user: name holds ':', ',', '/', '\' or white space`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got  %v\n want %s", tt.in, err, tt.want)
		}
	}
}

func testDB(t *testing.T) *accounts.DB {
	users, err := accounts.ParsePasswd("/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nagent:x:999:995::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\nwheelie:x:1002:1002::/:/bin/sh\n"))
	if err != nil {
		t.Fatal(err)
	}
	groups, err := accounts.ParseGroup("/etc/group", []byte("root:x:0:\nwheelie:x:0:\ndocker:x:995:\nagent:x:999:\nalice:x:1000:\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &accounts.DB{Users: users, Groups: groups}
}

func TestResolveCases(t *testing.T) {
	db := testDB(t)
	tests := []struct {
		in   string
		want Identity
		err  string
		is   error
	}{
		{in: "agent", want: Identity{"agent", 999, "agent", 999, true}},
		{in: "agent:docker", want: Identity{"agent", 999, "docker", 995, true}},
		{in: "agent:995", want: Identity{"agent", 999, "docker", 995, true}},
		{in: "999", want: Identity{"agent", 999, "agent", 999, true}},
		{in: "1000", want: Identity{"alice", 1000, "alice", 1000, true}},
		{in: "default", want: Identity{User: "dockremap", Group: "dockremap"}},
		{in: "nobody", err: "userns-remap nobody: user nobody: no such user in /etc/passwd", is: ErrUnknownUser},
		{in: "4242", err: "userns-remap 4242: uid 4242: no such user in /etc/passwd", is: ErrUnknownUser},
		{in: "bob", err: "userns-remap bob: group bob: no such group in /etc/group (dockerd looks up a group named like the user; give one as bob:GROUP)", is: ErrUnknownGroup},
		{in: "1001", err: "userns-remap 1001: gid 1001: no such group in /etc/group (dockerd looks up a group named like the user; give one as 1001:GROUP)", is: ErrUnknownGroup},
		{in: "agent:nogroup", err: "userns-remap agent:nogroup: group nogroup: no such group in /etc/group", is: ErrUnknownGroup},
		{in: "toor", err: "userns-remap toor: user toor has uid 0: container root would be host root"},
		{in: "wheelie", err: "userns-remap wheelie: group wheelie has gid 0: container gid 0 would be host gid 0"},
	}
	for _, tt := range tests {
		sp, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		got, err := sp.Resolve(db)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("Resolve(%q):\n got  %v\n want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestResolveDefaultExisting(t *testing.T) {
	users, _ := accounts.ParsePasswd("/etc/passwd", []byte("dockremap:x:998:998::/:/bin/false\n"))
	groups, _ := accounts.ParseGroup("/etc/group", []byte("dockremap:x:998:\n"))
	sp, _ := Parse("default")
	got, err := sp.Resolve(&accounts.DB{Users: users, Groups: groups})
	if err != nil || got != (Identity{"dockremap", 998, "dockremap", 998, true}) {
		t.Fatalf("%+v %v", got, err)
	}
}

// FuzzParse: any accepted value round-trips through String, never maps
// root, and every error is one line naming the value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"agent", "agent:docker", "999:995", "default", "a:b:c", "root", "0", ":", " x", "default:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "userns-remap value ") {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		if sp.String() != s {
			t.Fatalf("String() = %q for %q", sp.String(), s)
		}
		if sp.User == "root" || isZero(sp.User) || sp.Group == "root" || isZero(sp.Group) || strings.ContainsAny(s, " \t\n") || strings.Count(s, ":") > 1 {
			t.Fatalf("accepted %q", s)
		}
		again, err := Parse(sp.String())
		if err != nil || again != sp {
			t.Fatalf("re-parse %+v %v", again, err)
		}
	})
}
