package rangeplan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

const basePasswd = "root:x:0:0::/root:/bin/sh\nagent:x:999:999::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
const baseGroup = "root:x:0:\ndocker:x:995:\nagent:x:999:\nalice:x:1000:\nnogroup:x:65534:\n"

func db(t *testing.T, passwd, group string) *accounts.DB {
	t.Helper()
	u, err := accounts.ParsePasswd("/etc/passwd", []byte(passwd))
	if err != nil {
		t.Fatal(err)
	}
	g, err := accounts.ParseGroup("/etc/group", []byte(group))
	if err != nil {
		t.Fatal(err)
	}
	return &accounts.DB{Users: u, Groups: g}
}

func file(t *testing.T, path, data string) *subid.File {
	t.Helper()
	f, err := subid.Parse(path, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func rs(owner string, pairs ...uint32) []subid.Range {
	var out []subid.Range
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, subid.Range{Owner: owner, Start: pairs[i], Count: pairs[i+1]})
	}
	return out
}

func maps(lines ...string) []string { return lines }

func mapStrings(m idmap.Map) []string {
	var out []string
	for _, l := range m {
		out = append(out, l.String())
	}
	return out
}

func stripLines(r []subid.Range) []subid.Range {
	out := make([]subid.Range, len(r))
	for i, x := range r {
		x.Line = 0
		out[i] = x
	}
	return out
}

func TestMakeCases(t *testing.T) {
	tests := []struct {
		name           string
		req            Request
		passwd, group  string
		subuid, subgid string
		addUID, addGID []subid.Range
		removeUID      []subid.Range
		uidMap, gidMap []string
		dataRoot       string
		unchanged      bool
		err            string
	}{
		{name: "owner fresh", req: Request{User: "agent", UID: 999, GID: 999, Exists: true},
			addUID: rs("agent", 999, 1, 100000, 65535), addGID: rs("agent", 999, 1, 100000, 65535),
			uidMap: maps("0 999 1", "1 100000 65535"), gidMap: maps("0 999 1", "1 100000 65535"), dataRoot: "/var/lib/docker/999.999"},
		{name: "owner avoids other ranges", req: Request{User: "agent", UID: 999, GID: 995, Exists: true},
			subuid: "bob:100000:65536\n", subgid: "carol:150000:10\n",
			addUID: rs("agent", 999, 1, 165536, 65535), addGID: rs("agent", 995, 1, 165536, 65535),
			uidMap: maps("0 999 1", "1 165536 65535"), gidMap: maps("0 995 1", "1 165536 65535"), dataRoot: "/var/lib/docker/999.995"},
		{name: "owner with a high uid picks a range above it", req: Request{User: "ldap", UID: 150000, GID: 150000, Exists: true, Size: 1000},
			passwd: basePasswd + "ldap:x:150000:150000::/:/bin/sh\n", group: baseGroup + "ldap:x:150000:\n",
			addUID: rs("ldap", 150000, 1, 150001, 999), addGID: rs("ldap", 150000, 1, 150001, 999),
			uidMap: maps("0 150000 1", "1 150001 999"), gidMap: maps("0 150000 1", "1 150001 999"), dataRoot: "/var/lib/docker/150000.150000"},
		{name: "owner adds only the one-wide range to useradd's range", req: Request{User: "alice", UID: 1000, GID: 1000, Exists: true},
			subuid: "alice:100000:65536\n", subgid: "alice:100000:65536\n",
			addUID: rs("alice", 1000, 1), addGID: rs("alice", 1000, 1),
			uidMap: maps("0 1000 1", "1 100000 65536"), gidMap: maps("0 1000 1", "1 100000 65536"), dataRoot: "/var/lib/docker/1000.1000"},
		{name: "owner already set up", req: Request{User: "agent", UID: 999, GID: 999, Exists: true},
			subuid: "# x\nagent:999:1\nagent:100000:65535\n", subgid: "999:999:1\nagent:100000:65535\n",
			uidMap: maps("0 999 1", "1 100000 65535"), gidMap: maps("0 999 1", "1 100000 65535"), dataRoot: "/var/lib/docker/999.999", unchanged: true},
		{name: "owner refuses the seed's contiguous range", req: Request{User: "agent", UID: 999, GID: 999, Exists: true},
			subuid: "agent:999:65537\n", subgid: "agent:999:65537\n",
			err: "/etc/subuid: agent already has agent:999:65537 (line 1): container uid 1 lands on host user alice (1000), container uid 64535 lands on host user nobody (65534): pass --force to replace them, or choose the layout they follow"},
		{name: "contiguous refuses an existing range over a host user", req: Request{Layout: Contiguous, User: "agent", UID: 999, GID: 999, Exists: true},
			subuid: "agent:999:65537\n", subgid: "agent:999:65537\n",
			err: "/etc/subuid: agent already has agent:999:65537 (line 1): container uid 1 lands on host user alice (1000), container uid 64535 lands on host user nobody (65534): pass --force to keep them, or use the owner layout"},
		{name: "contiguous keeps an existing range over a host user with force", req: Request{Layout: Contiguous, User: "agent", UID: 999, GID: 999, Exists: true, Force: true},
			subuid: "agent:999:65537\n", subgid: "agent:999:65537\n",
			uidMap: maps("0 999 65537"), gidMap: maps("0 999 65537"), dataRoot: "/var/lib/docker/999.999", unchanged: true},
		{name: "owner refuses a user's range over another user's", req: Request{User: "alice", UID: 1000, GID: 1000, Exists: true},
			subuid: "alice:100000:65536\nbob:150000:65536\n", subgid: "alice:100000:65536\n",
			err: "/etc/subuid: alice already has alice:100000:65536 (line 1): container uids from 0 land on bob's range 150000-215535 (/etc/subuid:2): pass --force to replace them, or choose the layout they follow"},
		{name: "owner inserts above uid-keyed lines, keyed by uid (Docker 27 and older)", req: Request{User: "alice", UID: 1000, GID: 1000, Exists: true, Rule: idmap.UIDFirst},
			subuid: "alice:100000:65536\n1000:300000:65536\n", subgid: "alice:100000:65536\n1000:300000:65536\n",
			addUID: rs("1000", 1000, 1), addGID: rs("1000", 1000, 1),
			uidMap: maps("0 1000 1", "1 300000 65536"), gidMap: maps("0 1000 1", "1 300000 65536"), dataRoot: "/var/lib/docker/1000.1000"},
		{name: "owner inserts above uid-keyed lines, keyed by uid (Docker 28 and newer)", req: Request{User: "alice", UID: 1000, GID: 1000, Exists: true, Rule: idmap.NameAndUID},
			subuid: "alice:100000:65536\n1000:300000:65536\n", subgid: "alice:100000:65536\n1000:300000:65536\n",
			addUID: rs("1000", 1000, 1), addGID: rs("1000", 1000, 1),
			uidMap: maps("0 1000 1", "1 100000 65536", "65537 300000 65536"), gidMap: maps("0 1000 1", "1 100000 65536", "65537 300000 65536"), dataRoot: "/var/lib/docker/1000.1000"},
		{name: "owner widens a narrow useradd range", req: Request{User: "alice", UID: 1000, GID: 1000, Exists: true},
			subuid: "alice:100000:100\n", subgid: "alice:100000:100\n",
			addUID: rs("alice", 1000, 1, 100100, 65435), addGID: rs("alice", 1000, 1, 100100, 65435),
			uidMap: maps("0 1000 1", "1 100000 100", "101 100100 65435"), gidMap: maps("0 1000 1", "1 100000 100", "101 100100 65435"), dataRoot: "/var/lib/docker/1000.1000"},
		{name: "a host set up by Buildkite's Elastic CI Stack is already enabled", req: Request{User: "buildkite-agent", UID: 2000, GID: 2000, Exists: true},
			passwd: basePasswd + "buildkite-agent:x:2000:2000::/:/bin/sh\n", group: baseGroup + "buildkite-agent:x:2000:\ndocker101:x:101:\n",
			subuid: "buildkite-agent:2000:1\nbuildkite-agent:100000:65536\n", subgid: "buildkite-agent:101:1\nbuildkite-agent:100000:65536\n",
			uidMap: maps("0 2000 1", "1 100000 65536"), gidMap: maps("0 101 1", "1 100000 65536"), dataRoot: "/var/lib/docker/2000.101", unchanged: true},
		{name: "owner replaces the seed's range with force", req: Request{User: "agent", UID: 999, GID: 999, Exists: true, Force: true},
			subuid: "agent:999:65537\n", subgid: "agent:999:65537\n",
			removeUID: rs("agent", 999, 65537),
			addUID:    rs("agent", 999, 1, 100000, 65535), addGID: rs("agent", 999, 1, 100000, 65535),
			uidMap: maps("0 999 1", "1 100000 65535"), gidMap: maps("0 999 1", "1 100000 65535"), dataRoot: "/var/lib/docker/999.999"},
		{name: "contiguous over a host user is refused", req: Request{Layout: Contiguous, User: "agent", UID: 999, GID: 999, Exists: true},
			err: "/etc/subuid: contiguous range agent:999:65536: container uid 1 lands on host user alice (1000), container uid 64535 lands on host user nobody (65534): use the owner layout, or --force"},
		{name: "contiguous over another user's range is refused", req: Request{Layout: Contiguous, User: "agent", UID: 999, GID: 999, Exists: true, Size: 10},
			subuid: "bob:1005:3\n",
			err:    "/etc/subuid: contiguous range agent:999:10: container uid 1 lands on host user alice (1000), container uids from 0 land on bob's range 1005-1007 (/etc/subuid:1): use the owner layout, or --force"},
		{name: "contiguous forced", req: Request{Layout: Contiguous, User: "agent", UID: 999, GID: 999, Exists: true, Force: true},
			addUID: rs("agent", 999, 65536), addGID: rs("agent", 999, 65536),
			uidMap: maps("0 999 65536"), gidMap: maps("0 999 65536"), dataRoot: "/var/lib/docker/999.999"},
		{name: "contiguous on a clean host", req: Request{Layout: Contiguous, User: "agent", UID: 999, GID: 999, Exists: true},
			passwd: "agent:x:999:999::/:/bin/sh\n", group: "agent:x:999:\n",
			addUID: rs("agent", 999, 65536), addGID: rs("agent", 999, 65536),
			uidMap: maps("0 999 65536"), gidMap: maps("0 999 65536"), dataRoot: "/var/lib/docker/999.999"},
		{name: "isolated for dockremap not created yet", req: Request{User: "dockremap"},
			subuid: "alice:100000:65536\n",
			addUID: rs("dockremap", 165536, 65536), addGID: rs("dockremap", 165536, 65536),
			uidMap: maps("0 165536 65536"), gidMap: maps("0 165536 65536"), dataRoot: "/var/lib/docker/165536.165536"},
		{name: "isolated skips a host id", req: Request{Layout: Isolated, User: "agent", UID: 999, GID: 999, Exists: true, Size: 100},
			passwd: basePasswd + "svc:x:100050:100050::/:/bin/false\n",
			addUID: rs("agent", 100051, 100), addGID: rs("agent", 100051, 100),
			uidMap: maps("0 100051 100"), gidMap: maps("0 100051 100"), dataRoot: "/var/lib/docker/100051.100051"},
		{name: "isolated reuses dockerd's own range", req: Request{User: "dockremap", UID: 998, GID: 998, Exists: true, Layout: Isolated},
			subuid: "dockremap:100000:65536\n", subgid: "dockremap:100000:65536\n",
			uidMap: maps("0 100000 65536"), gidMap: maps("0 100000 65536"), dataRoot: "/var/lib/docker/100000.100000", unchanged: true},
		{name: "no free range left", req: Request{Layout: Isolated, User: "agent", UID: 999, GID: 999, Exists: true},
			subuid: "big:100000:4294867295\n",
			err:    "/etc/subuid: no free range of 65536 uids left above 100000: every id up to 4294967294 is a host id or in a subordinate range"},
		// An earlier enable's lines (Replace), widened: the wide range keeps
		// its start, so ids already on disk keep their host ids.
		{name: "owner widens an earlier enable's range in place", req: Request{User: "agent", UID: 999, GID: 999, Exists: true, Replace: true, Size: 196608},
			subuid: "agent:999:1\nagent:100000:131071\n", subgid: "agent:999:1\nagent:100000:131071\n",
			removeUID: rs("agent", 999, 1, 100000, 131071),
			addUID:    rs("agent", 999, 1, 100000, 196607), addGID: rs("agent", 999, 1, 100000, 196607),
			uidMap: maps("0 999 1", "1 100000 196607"), gidMap: maps("0 999 1", "1 100000 196607"), dataRoot: "/var/lib/docker/999.999"},
		{name: "owner moves an earlier enable's range when widening in place hits another range", req: Request{User: "agent", UID: 999, GID: 999, Exists: true, Replace: true, Size: 196608},
			subuid: "agent:999:1\nagent:100000:131071\nbob:231071:10\n", subgid: "agent:999:1\nagent:100000:131071\n",
			removeUID: rs("agent", 999, 1, 100000, 131071),
			addUID:    rs("agent", 999, 1, 231081, 196607), addGID: rs("agent", 999, 1, 231081, 196607),
			uidMap: maps("0 999 1", "1 231081 196607"), gidMap: maps("0 999 1", "1 231081 196607"), dataRoot: "/var/lib/docker/999.999"},
		{name: "isolated widens an earlier enable's range in place", req: Request{Layout: Isolated, User: "agent", UID: 999, GID: 999, Exists: true, Replace: true, Size: 131072},
			subuid: "agent:100000:65536\n", subgid: "agent:100000:65536\n",
			removeUID: rs("agent", 100000, 65536),
			addUID:    rs("agent", 100000, 131072), addGID: rs("agent", 100000, 131072),
			uidMap: maps("0 100000 131072"), gidMap: maps("0 100000 131072"), dataRoot: "/var/lib/docker/100000.100000"},
		{name: "owner for a user that does not exist", req: Request{Layout: Owner, User: "ghost"},
			err: "layout owner: user ghost does not exist yet, only the isolated layout can be planned for it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			passwd, group := tt.passwd, tt.group
			if passwd == "" {
				passwd = basePasswd
			}
			if group == "" {
				group = baseGroup
			}
			req := tt.req
			req.Accounts = db(t, passwd, group)
			req.Subuid = file(t, "/etc/subuid", tt.subuid)
			req.Subgid = file(t, "/etc/subgid", tt.subgid)
			p, err := Make(req)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.UID.Add, tt.addUID) || !reflect.DeepEqual(p.GID.Add, tt.addGID) {
				t.Errorf("add uid %v gid %v", p.UID.Add, p.GID.Add)
			}
			if !reflect.DeepEqual(stripLines(p.UID.Remove), stripLines(tt.removeUID)) {
				t.Errorf("remove uid %v", p.UID.Remove)
			}
			if got := mapStrings(p.UID.Map); !reflect.DeepEqual(got, tt.uidMap) {
				t.Errorf("uid map %q", got)
			}
			if got := mapStrings(p.GID.Map); !reflect.DeepEqual(got, tt.gidMap) {
				t.Errorf("gid map %q", got)
			}
			if got := p.DataRoot("/var/lib/docker/"); got != tt.dataRoot {
				t.Errorf("data root %s", got)
			}
			if p.Unchanged != tt.unchanged {
				t.Errorf("unchanged %v", p.Unchanged)
			}
			// Applying the plan and planning again changes nothing.
			for _, side := range []struct {
				f *subid.File
				s Side
			}{{req.Subuid, p.UID}, {req.Subgid, p.GID}} {
				if err := side.s.Apply(side.f); err != nil {
					t.Fatal(err)
				}
				// The file itself gives the planned map, as dockerd reads it.
				if got := req.Rule.Lines(side.f, req.Owner()); len(req.Rule) > 0 && !idmap.Build(got).Equal(side.s.Map) {
					t.Errorf("%s after apply maps %s, plan said %s", side.f.Path(), idmap.Build(got), side.s.Map)
				}
			}
			// Only a contiguous range over host ids needs --force every time.
			req.Force = req.Force && req.Layout == Contiguous
			again, err := Make(req)
			if err != nil || !again.Unchanged || !reflect.DeepEqual(again.UID.Map, p.UID.Map) || !reflect.DeepEqual(again.GID.Map, p.GID.Map) {
				t.Errorf("second plan not a no-op: %+v %v", again, err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		err  string
	}{
		{in: "65536", want: 65536},
		{in: "1", want: 1},
		{in: "4294967294", want: 4294967294},
		{in: "0", err: `size "0": must be at least 1`},
		{in: "-1", err: `size "-1": not a positive whole number`},
		{in: "", err: `size "": not a positive whole number`},
		{in: "1e6", err: `size "1e6": not a positive whole number`},
		{in: "4294967295", err: `size "4294967295": past 4294967294, the most ids a range can hold`},
		{in: "99999999999999999999", err: `size "99999999999999999999": past 4294967294, the most ids a range can hold`},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseSize(%q) = %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
	if _, err := ParseLayout("wide"); err == nil || err.Error() != `layout "wide": want owner, contiguous or isolated` {
		t.Errorf("ParseLayout: %v", err)
	}
}

func TestApplyInsertsAboveTheUsersFirstLine(t *testing.T) {
	req := Request{User: "alice", UID: 1000, GID: 1000, Exists: true,
		Subuid: file(t, "/etc/subuid", "# useradd\nbob:165536:65536\nalice:100000:65536\n"),
		Subgid: file(t, "/etc/subgid", "alice:100000:65536\n"), Accounts: db(t, basePasswd, baseGroup)}
	p, err := Make(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.UID.Apply(req.Subuid); err != nil {
		t.Fatal(err)
	}
	if got, want := string(req.Subuid.Bytes()), "# useradd\nbob:165536:65536\nalice:1000:1\nalice:100000:65536\n"; got != want {
		t.Fatalf("subuid %q, want %q", got, want)
	}
}

func TestAnalyzeCases(t *testing.T) {
	tests := []struct {
		name           string
		user           string
		uid            uint32
		exists         bool
		rule           idmap.Rule
		subuid, subgid string
		want           []string
	}{
		{name: "owner layout is clean", user: "agent", uid: 999, exists: true,
			subuid: "agent:999:1\nagent:100000:65535\n", subgid: "agent:999:1\nagent:100000:65535\n"},
		{name: "seed contiguous range", user: "agent", uid: 999, exists: true,
			subuid: "agent:999:65537\n", subgid: "agent:999:65537\n",
			want: []string{
				"container uid 1 lands on host user alice (1000)",
				"container uid 64535 lands on host user nobody (65534)",
				"container gid 1 lands on host group alice (1000)",
				"container gid 64535 lands on host group nogroup (65534)",
			}},
		{name: "overlap and narrow", user: "agent", uid: 999, exists: true,
			subuid: "bob:100500:10\nagent:100000:1000\n", subgid: "",
			want: []string{
				"container uids from 0 land on bob's range 100500-100509 (/etc/subuid:1)",
				"agent maps only 1000 container uids (fewer than 65536): images with files owned by uid 1000 or above fail to pull",
				"agent has no range in /etc/subgid: dockerd refuses to start with userns-remap set to it",
			}},
		{name: "numeric owner counts", user: "agent", uid: 999, exists: true,
			subuid: "999:100000:65536\n", subgid: "agent:100000:65536\n"},
		{name: "many host users are summarised", user: "agent", uid: 999, exists: true,
			subuid: "agent:0:65536\n", subgid: "agent:200000:65536\n",
			want: []string{
				"container uid 0 lands on host user root (0)",
				"container uid 999 lands on host user agent (999)",
				"container uid 1000 lands on host user alice (1000)",
				"and 1 more container uids land on host ids (agent's range at host 0)",
			}},
		{name: "name-keyed lines beside uid-keyed ones are skipped before Docker 28", user: "agent", uid: 999, exists: true, rule: idmap.UIDFirst,
			subuid: "agent:200000:65536\n999:999:1\n999:100000:65536\n", subgid: "agent:999:1\nagent:100000:65536\n",
			want: []string{
				"/etc/subuid:1: agent:200000:65536 is not read by Docker 27 and older: lines keyed by agent's uid 999 exist, and dockerd then reads only those",
			}},
		{name: "the same lines from Docker 28 on put container root elsewhere", user: "agent", uid: 999, exists: true, rule: idmap.NameAndUID,
			subuid: "agent:200000:65536\n999:999:1\n999:100000:65536\n", subgid: "agent:999:1\nagent:100000:65536\n",
			want: []string{
				"container uid 65536 lands on host user agent (999)",
			}},
		{name: "own lines that overlap", user: "agent", uid: 999, exists: true,
			subuid: "agent:999:1\nagent:100000:65536\nagent:100000:10\n", subgid: "agent:999:1\nagent:100000:65536\n",
			want: []string{
				"container uids 1 and 65537 land on the same host uid: agent's lines in /etc/subuid overlap, and the kernel refuses such a map",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := tt.rule
			if rule == "" {
				rule = idmap.NameAndUID
			}
			ws := Analyze(rule, idmap.Owner{Name: tt.user, UID: tt.uid, Known: tt.exists}, file(t, "/etc/subuid", tt.subuid), file(t, "/etc/subgid", tt.subgid), db(t, basePasswd, baseGroup))
			var got []string
			for _, w := range ws {
				got = append(got, w.Message)
				if strings.Contains(w.Message, "\n") || w.Code == "" {
					t.Errorf("bad warning %+v", w)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// FuzzMake: whatever the files hold, a plan's new wide ranges hit no host
// id and no existing range, stay below 2^32-1, put container root where the
// layout says, and map at least the asked size.
func FuzzMake(f *testing.F) {
	f.Add("bob:100000:65536\n", "", uint32(65536), uint8(0))
	f.Add("agent:999:65537\n", "agent:999:65537\n", uint32(10), uint8(1))
	f.Add("x:100000:4294800000\n", "", uint32(65536), uint8(2))
	f.Fuzz(func(t *testing.T, subuid, subgid string, size uint32, layout uint8) {
		uf, err1 := subid.Parse("/etc/subuid", []byte(subuid))
		gf, err2 := subid.Parse("/etc/subgid", []byte(subgid))
		if err1 != nil || err2 != nil || size == 0 || size >= subid.MaxID {
			return
		}
		accts := db(t, basePasswd, baseGroup)
		req := Request{Layout: Layouts[int(layout)%len(Layouts)], Size: size, User: "agent", UID: 999, GID: 995, Exists: true,
			Subuid: uf, Subgid: gf, Accounts: accts}
		p, err := Make(req)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, side := range []struct {
			s  Side
			id uint32
		}{{p.UID, 999}, {p.GID, 995}} {
			if side.s.Size < uint64(size) {
				t.Fatalf("maps %d < %d", side.s.Size, size)
			}
			_, chosenGroup := accts.GroupByID(side.s.Root)
			if req.Layout != Isolated && side.s.Root != side.id && !(side.id == 995 && req.Layout == Owner && chosenGroup) {
				t.Fatalf("root %d, want %d", side.s.Root, side.id)
			}
			for _, a := range side.s.Add {
				if a.End() > subid.MaxID {
					t.Fatalf("range %v past max", a)
				}
				if req.Layout == Contiguous || (a.Start == side.id && a.Count == 1) {
					continue
				}
				for _, file := range []*subid.File{uf, gf} {
					for _, r := range file.Ranges() {
						if r.Overlaps(a) {
							t.Fatalf("new range %v overlaps %v", a, r)
						}
					}
				}
				for _, id := range accts.IDs() {
					if a.Contains(id) {
						t.Fatalf("new range %v holds host id %d", a, id)
					}
				}
			}
		}
	})
}
