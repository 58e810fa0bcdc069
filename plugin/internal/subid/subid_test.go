package subid

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"two fields", "agent:100000\n", "/etc/subuid:1: 2 fields in \"agent:100000\", want owner:start:count"},
		{"four fields", "ok:1:1\nagent:1:2:3\n", "/etc/subuid:2: 4 fields in \"agent:1:2:3\", want owner:start:count"},
		{"empty owner", ":100000:65536", "/etc/subuid:1: empty owner in \":100000:65536\""},
		{"non-numeric start", "agent:abc:1", "/etc/subuid:1: bad start \"abc\": not a number"},
		{"negative count", "agent:1:-5", "/etc/subuid:1: bad count \"-5\": not a number"},
		{"zero count", "agent:1:0", "/etc/subuid:1: bad count \"0\": must be at least 1"},
		{"empty count", "agent:1:", "/etc/subuid:1: bad count \"\": empty"},
		{"start too big", "agent:4294967296:1", "/etc/subuid:1: bad start \"4294967296\": out of range"},
		{"past max", "agent:4294967295:1", "/etc/subuid:1: range 4294967295-4294967295 ends past 4294967294"},
		{"past max 2", "agent:4294901760:65536", "/etc/subuid:1: range 4294901760-4294967295 ends past 4294967294"},
		{"trailing space", "# c\n\nagent:1:2 \n", "/etc/subuid:3: leading or trailing white space in \"agent:1:2 \""},
		{"crlf", "agent:1:2\r\n", "/etc/subuid:1: leading or trailing white space in \"agent:1:2\\r\""},
		{"space in owner", "a b:1:2", "/etc/subuid:1: white space in owner \"a b\""},
		{"plus sign", "agent:+1:2", "/etc/subuid:1: bad start \"+1\": not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("/etc/subuid", []byte(tt.data))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	data := "# managed by hand\n\nalice:100000:65536\n999:165536:65536\n  # indented comment\nagent:4294901759:65535\n"
	f, err := Parse("/etc/subuid", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{"alice", 100000, 65536, 3}, {"999", 165536, 65536, 4}, {"agent", 4294901759, 65535, 6}}
	if got := f.Ranges(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if !bytes.Equal(f.Bytes(), []byte(data)) {
		t.Fatalf("round trip changed bytes: %q", f.Bytes())
	}
}

func TestInsertAboveKeepsOtherBytes(t *testing.T) {
	data := "# kept\nbob:100000:65536\nagent:165536:65536\n\nagent:300000:5"
	f, _ := Parse("/etc/subuid", []byte(data))
	added, err := f.InsertAbove(Range{Owner: "agent", Start: 1000, Count: 1}, Range{Owner: "agent", Start: 165536, Count: 65536})
	if err != nil || !added {
		t.Fatalf("InsertAbove: %v %v", added, err)
	}
	want := "# kept\nbob:100000:65536\nagent:1000:1\nagent:165536:65536\n\nagent:300000:5"
	if string(f.Bytes()) != want {
		t.Fatalf("got %q, want %q", f.Bytes(), want)
	}
	if got := f.Ranges(); got[1].Line != 3 || got[2].Line != 4 || got[3].Line != 6 {
		t.Fatalf("line numbers after insert: %+v", got)
	}
	if added, _ := f.InsertAbove(Range{Owner: "agent", Start: 1000, Count: 1}, Range{Owner: "bob", Start: 100000, Count: 65536}); added {
		t.Fatal("a line already present was inserted again")
	}
	// No such line: appended, as Add does.
	f.InsertAbove(Range{Owner: "carol", Start: 1, Count: 1}, Range{Owner: "nobody", Start: 1, Count: 1})
	if !strings.HasSuffix(string(f.Bytes()), "agent:300000:5\ncarol:1:1\n") {
		t.Fatalf("append when the anchor is missing: %q", f.Bytes())
	}
	if c := f.Clone(); !bytes.Equal(c.Bytes(), f.Bytes()) {
		t.Fatal("clone differs")
	}
}

func TestAddRemoveKeepsOtherBytes(t *testing.T) {
	tests := []struct{ name, data, afterAdd string }{
		{"empty", "", "agent:999:1\n"},
		{"comments", "# x\n\nalice:100000:65536\n", "# x\n\nalice:100000:65536\nagent:999:1\n"},
		{"no final newline", "alice:100000:65536", "alice:100000:65536\nagent:999:1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("/etc/subuid", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if added, err := f.Add("agent", 999, 1); err != nil || !added {
				t.Fatalf("add: %v %v", added, err)
			}
			if added, _ := f.Add("agent", 999, 1); added {
				t.Fatal("added twice")
			}
			if got := string(f.Bytes()); got != tt.afterAdd {
				t.Fatalf("after add %q", got)
			}
			if !f.Remove("agent", 999, 1) {
				t.Fatal("remove failed")
			}
			if f.Remove("agent", 999, 1) {
				t.Fatal("removed twice")
			}
			want := tt.data
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n" // the one byte an edit may add: a final newline
			}
			if got := string(f.Bytes()); got != want {
				t.Fatalf("after remove %q", got)
			}
		})
	}
}

func TestRemoveMiddleLine(t *testing.T) {
	f, _ := Parse("/etc/subgid", []byte("a:1:1\n# keep\nb:2:2\nc:3:3\n"))
	if !f.Remove("b", 2, 2) {
		t.Fatal("not removed")
	}
	if got := string(f.Bytes()); got != "a:1:1\n# keep\nc:3:3\n" {
		t.Fatalf("%q", got)
	}
	if r := f.Ranges(); r[1].Line != 3 {
		t.Fatalf("line numbers not updated: %+v", r)
	}
}

func TestAddInvalid(t *testing.T) {
	f, _ := Parse("/etc/subuid", nil)
	for _, c := range []struct {
		owner        string
		start, count uint32
	}{{"", 1, 1}, {"a", 1, 0}, {"a b", 1, 1}, {"a:b", 1, 1}, {"a", 4294967295, 1}} {
		if _, err := f.Add(c.owner, c.start, c.count); err == nil {
			t.Errorf("Add(%q, %d, %d) accepted", c.owner, c.start, c.count)
		}
	}
	if len(f.Bytes()) != 0 {
		t.Fatal("invalid add changed the file")
	}
}

func TestRangeOverlaps(t *testing.T) {
	a := Range{Start: 100, Count: 10}
	for _, c := range []struct {
		b    Range
		want bool
	}{{Range{Start: 109, Count: 1}, true}, {Range{Start: 110, Count: 1}, false}, {Range{Start: 90, Count: 10}, false}, {Range{Start: 90, Count: 11}, true}} {
		if got := a.Overlaps(c.b); got != c.want {
			t.Errorf("%v overlaps %v = %v", a, c.b, got)
		}
	}
}

// FuzzParse checks that whatever parses round-trips byte for byte, that
// every range stays below 2^32-1, and that add then remove restores it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "agent:100000:65536\n", "# c\n\na:1:1", "a:4294967294:1\n", ":1:1", "a:1:2:3\n", "a:-1:1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("/etc/subuid", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "/etc/subuid:") {
				t.Fatalf("error not one line naming file:line: %q", err)
			}
			return
		}
		if !bytes.Equal(file.Bytes(), data) {
			t.Fatalf("round trip: %q", file.Bytes())
		}
		for _, r := range file.Ranges() {
			if r.Count == 0 || r.End() > MaxID || r.Owner == "" {
				t.Fatalf("accepted bad range %+v", r)
			}
		}
		before := file.Bytes()
		if added, err := file.Add("zz-fuzz", 7, 3); err != nil {
			t.Fatal(err)
		} else if added {
			file.Remove("zz-fuzz", 7, 3)
			after := file.Bytes()
			if !bytes.Equal(after, before) && !bytes.Equal(after, append(before, '\n')) {
				t.Fatalf("add+remove changed %q to %q", before, after)
			}
		}
		if _, err := Parse("/etc/subuid", file.Bytes()); err != nil {
			t.Fatalf("edited file does not parse: %v", err)
		}
	})
}
