package idmap

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/user"

	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

func parse(t testing.TB, text string) *subid.File {
	t.Helper()
	f, err := subid.Parse("/etc/subuid", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var agent = Owner{Name: "agent", UID: 1000, Known: true}

func TestRuleFor(t *testing.T) {
	for version, want := range map[string]Rule{
		"20.10.24+dfsg1": UIDFirst,
		"26.1.5+dfsg1":   UIDFirst,
		"27.5.1":         UIDFirst,
		"28.0.0":         NameAndUID,
		"28.5.2+dfsg3":   NameAndUID,
		"29.1.0":         NameAndUID,
		"":               NameAndUID,
		"dev":            NameAndUID,
	} {
		if got := RuleFor(version); got != want {
			t.Errorf("RuleFor(%q) = %s, want %s", version, got, want)
		}
	}
}

func TestMapOfEachRule(t *testing.T) {
	cases := []struct {
		name, file string
		owner      Owner
		want       map[Rule]string
	}{{
		name: "file order, never sorted",
		file: "agent:200000:65536\nagent:999:1\n",
		want: map[Rule]string{UIDFirst: "0 200000 65536, 65536 999 1", NameAndUID: "0 200000 65536, 65536 999 1"},
	}, {
		name: "one-wide line above useradd's range",
		file: "agent:1000:1\nagent:100000:65536\n",
		want: map[Rule]string{UIDFirst: "0 1000 1, 1 100000 65536", NameAndUID: "0 1000 1, 1 100000 65536"},
	}, {
		name: "uid-keyed lines hide name-keyed ones before 28",
		file: "agent:100000:65536\n1000:1000:1\n1000:300000:10\n",
		want: map[Rule]string{UIDFirst: "0 1000 1, 1 300000 10", NameAndUID: "0 100000 65536, 65536 1000 1, 65537 300000 10"},
	}, {
		name: "name-keyed lines when no uid-keyed line",
		file: "bob:100000:65536\nagent:165536:65536\n",
		want: map[Rule]string{UIDFirst: "0 165536 65536", NameAndUID: "0 165536 65536"},
	}, {
		name: "comments and blank lines skipped",
		file: "# agent:1:1\n\nagent:1000:1\n#1000:5:5\nagent:100000:65536",
		want: map[Rule]string{UIDFirst: "0 1000 1, 1 100000 65536", NameAndUID: "0 1000 1, 1 100000 65536"},
	}, {
		name:  "a user not created yet owns name-keyed lines only",
		file:  "0:5:5\ndockremap:100000:65536\n",
		owner: Owner{Name: "dockremap"},
		want:  map[Rule]string{UIDFirst: "0 100000 65536", NameAndUID: "0 100000 65536"},
	}, {
		name: "no line",
		file: "bob:100000:65536\n",
		want: map[Rule]string{UIDFirst: "", NameAndUID: ""},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.owner
			if o.Name == "" {
				o = agent
			}
			for _, r := range Rules {
				if got := r.Of(parse(t, c.file), o).String(); got != c.want[r] {
					t.Errorf("%s: map %q, want %q", r, got, c.want[r])
				}
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	f := parse(t, "agent:100000:65536\n1000:1000:1\nbob:5:5\n")
	got := UIDFirst.Skipped(f, agent)
	if len(got) != 1 || got[0].Line != 1 {
		t.Fatalf("UIDFirst skips %v, want line 1", got)
	}
	if got := NameAndUID.Skipped(f, agent); len(got) != 0 {
		t.Fatalf("NameAndUID skips %v, want none", got)
	}
}

func TestKeyFor(t *testing.T) {
	if k := agent.KeyFor(parse(t, "agent:100000:65536\n")); k != "agent" {
		t.Errorf("name-keyed file: key %q, want agent", k)
	}
	if k := agent.KeyFor(parse(t, "agent:100000:65536\n1000:300000:5\n")); k != "1000" {
		t.Errorf("uid-keyed line present: key %q, want 1000", k)
	}
}

func TestMapToHostAndSize(t *testing.T) {
	m := Build([]subid.Range{{Start: 1000, Count: 1}, {Start: 100000, Count: 65536}})
	if root, ok := m.Root(); !ok || root != 1000 {
		t.Fatalf("root %d %v", root, ok)
	}
	if m.Size() != 65537 {
		t.Fatalf("size %d", m.Size())
	}
	for c, want := range map[uint64]uint32{0: 1000, 1: 100000, 65536: 165535} {
		if h, ok := m.ToHost(c); !ok || h != want {
			t.Errorf("ToHost(%d) = %d %v, want %d", c, h, ok, want)
		}
	}
	if _, ok := m.ToHost(65537); ok {
		t.Error("container id 65537 mapped")
	}
}

func TestMapToContainerInvertsToHost(t *testing.T) {
	m := Build([]subid.Range{{Start: 1000, Count: 1}, {Start: 100000, Count: 65536}})
	for host, want := range map[uint32]uint32{1000: 0, 100000: 1, 165535: 65536} {
		if c, ok := m.ToContainer(host); !ok || c != want {
			t.Errorf("ToContainer(%d) = %d %v, want %d", host, c, ok, want)
		}
	}
	for _, host := range []uint32{0, 999, 1001, 165536} {
		if c, ok := m.ToContainer(host); ok {
			t.Errorf("host id %d is container id %d, want unmapped", host, c)
		}
	}
	if c, ok := Identity.ToContainer(4294967294); !ok || c != 4294967294 {
		t.Errorf("identity: %d %v", c, ok)
	}
}

// mobyNameAndUID is what Docker 28.5 does (internal/usergroup
// lookupSubRangesFile), written with the parser it uses.
func mobyNameAndUID(t *testing.T, path string, o Owner) Map {
	t.Helper()
	uid := fmt.Sprint(o.UID)
	subs, err := user.ParseSubIDFileFilter(path, func(s user.SubID) bool { return s.Name == o.Name || s.Name == uid })
	if err != nil {
		t.Fatal(err)
	}
	var m Map
	var next int64
	for _, s := range subs {
		m = append(m, Line{Container: uint32(next), Host: uint32(s.SubID), Size: uint32(s.Count)})
		next += s.Count
	}
	return m
}

// TestNameAndUIDMatchesMobySysUser cross-checks the model against moby's own
// parser on random files of valid lines, comments and blank lines.
func TestNameAndUIDMatchesMobySysUser(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	owners := []string{"agent", "1000", "bob", "1001", "agent2", "#agent"}
	dir := t.TempDir()
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := rnd.Intn(8); n > 0; n-- {
			switch rnd.Intn(6) {
			case 0:
				b.WriteString("\n")
			case 1:
				b.WriteString("# a comment\n")
			default:
				fmt.Fprintf(&b, "%s:%d:%d\n", owners[rnd.Intn(len(owners))], rnd.Intn(300000), 1+rnd.Intn(70000))
			}
		}
		path := filepath.Join(dir, "subuid")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		want := mobyNameAndUID(t, path, agent)
		if got := NameAndUID.Of(parse(t, b.String()), agent); !got.Equal(want) {
			t.Fatalf("file %q: model %q, moby/sys/user %q", b.String(), got, want)
		}
	}
}

func TestParseKernelText(t *testing.T) {
	got, err := Parse("         0        999          1\n         1     100000      65535\n")
	if err != nil || got.String() != "0 999 1, 1 100000 65535" {
		t.Fatalf("Parse = %q, %v", got, err)
	}
	if _, err := Parse("0 1"); err == nil || !strings.Contains(err.Error(), `"0 1"`) {
		t.Fatalf("a short line: %v", err)
	}
}

func TestKeeps(t *testing.T) {
	narrow := Map{{0, 999, 1}, {1, 100000, 131071}}
	for _, tt := range []struct {
		name string
		to   Map
		want bool
	}{
		{"the same map", narrow, true},
		{"widened in place", Map{{0, 999, 1}, {1, 100000, 196607}}, true},
		{"widened by a line beside", Map{{0, 999, 1}, {1, 100000, 131071}, {131072, 300000, 65536}}, true},
		{"the wide line moved", Map{{0, 999, 1}, {1, 231071, 196607}}, false},
		{"narrowed", Map{{0, 999, 1}, {1, 100000, 65535}}, false},
		{"another root", Map{{0, 998, 1}, {1, 100000, 131071}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := narrow.Keeps(tt.to); got != tt.want {
				t.Errorf("%s keeps %s: %v, want %v", narrow, tt.to, got, tt.want)
			}
		})
	}
}
