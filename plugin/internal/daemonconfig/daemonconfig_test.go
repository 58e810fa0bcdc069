package daemonconfig

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

func TestSetCases(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"missing", "", "{\n  \"userns-remap\": \"agent\"\n}\n"},
		{"white space only", " \n", "{\n  \"userns-remap\": \"agent\"\n}\n"},
		{"empty object", "{}\n", "{\n  \"userns-remap\": \"agent\"\n}\n"},
		{"two spaces", "{\n  \"debug\": true,\n  \"log-level\": \"warn\"\n}\n",
			"{\n  \"debug\": true,\n  \"log-level\": \"warn\",\n  \"userns-remap\": \"agent\"\n}\n"},
		{"four spaces one key", "{\n    \"storage-driver\": \"overlay2\"\n}",
			"{\n    \"storage-driver\": \"overlay2\",\n    \"userns-remap\": \"agent\"\n}"},
		{"tabs and nested", "{\n\t\"log-opts\": {\n\t\t\"max-size\": \"10m\"\n\t},\n\t\"dns\": [\"1.1.1.1\"]\n}\n",
			"{\n\t\"log-opts\": {\n\t\t\"max-size\": \"10m\"\n\t},\n\t\"dns\": [\"1.1.1.1\"],\n\t\"userns-remap\": \"agent\"\n}\n"},
		{"inline compact", `{"a":1,"b":{"c":"}"}}`, `{"a":1,"b":{"c":"}"},"userns-remap":"agent"}`},
		{"inline spaced", `{ "a": 1, "b": 2 }`, `{ "a": 1, "b": 2, "userns-remap": "agent" }`},
		{"brace on last line", "{\n  \"a\": 1}", "{\n  \"a\": 1,\n  \"userns-remap\": \"agent\"}"},
		{"replace string", "{\n  \"userns-remap\": \"default\",\n  \"x\": 1\n}\n", "{\n  \"userns-remap\": \"agent\",\n  \"x\": 1\n}\n"},
		{"replace non-string", "{\"userns-remap\" :  42 }", "{\"userns-remap\" :  \"agent\" }"},
		{"escaped key", "{\"userns\\u002dremap\": \"x\"}", "{\"userns\\u002dremap\": \"agent\"}"},
		{"duplicates", "{\"userns-remap\": \"a\", \"userns-remap\": \"b\"}", "{\"userns-remap\": \"agent\", \"userns-remap\": \"agent\"}"},
		{"bom", "\xef\xbb\xbf{\"a\": 1}", "\xef\xbb\xbf{\"a\": 1, \"userns-remap\": \"agent\"}"},
		{"crlf", "{\r\n  \"a\": \"é\"\r\n}\r\n", "{\r\n  \"a\": \"é\",\n  \"userns-remap\": \"agent\"\r\n}\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(DefaultPath, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Set(Key, "agent")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
			after, err := Parse(DefaultPath, got)
			if err != nil {
				t.Fatalf("result does not parse: %v", err)
			}
			if v, ok, err := after.UsernsRemap(); v != "agent" || !ok || err != nil {
				t.Fatalf("UsernsRemap() = %q %v %v", v, ok, err)
			}
		})
	}
}

func TestRemoveCases(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"only key", "{\n  \"userns-remap\": \"agent\"\n}\n", "{}\n"},
		{"first of two", "{\n  \"userns-remap\": \"agent\",\n  \"debug\": true\n}\n", "{\n  \"debug\": true\n}\n"},
		{"middle", "{\"a\": 1, \"userns-remap\": \"x\", \"b\": 2}", "{\"a\": 1, \"b\": 2}"},
		{"duplicates first two", "{\"userns-remap\": 1, \"userns-remap\": 2, \"c\": 3}", "{\"c\": 3}"},
		{"absent", "{\"a\": 1}", "{\"a\": 1}"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(DefaultPath, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(c.Remove(Key)); got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
}

func TestSetThenRemoveRestoresBytes(t *testing.T) {
	for _, in := range []string{
		"{\n  \"debug\": true\n}\n",
		"{\"a\":[1,2,{\"b\":null}] , \"c\" : \"d\"}",
		"{\n\t\"x\": 1,\n\t\"y\": 2\n}",
	} {
		c, _ := Parse(DefaultPath, []byte(in))
		set, _ := c.Set(Key, "agent")
		c2, err := Parse(DefaultPath, set)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(c2.Remove(Key)); got != in {
			t.Errorf("remove after set:\n got %q\nwant %q", got, in)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"{\n  \"a\": 1,\n}\n", "/etc/docker/daemon.json:3:1: invalid JSON: invalid character '}' looking for beginning of object key string"},
		{"{\n  \"a\": tru\n}", "/etc/docker/daemon.json:2:11: invalid JSON: invalid character '\\n' in literal true (expecting 'e')"},
		{"{\"a\": 1", "/etc/docker/daemon.json:1:7: invalid JSON: unexpected end of JSON input"},
		{"{} {}", "/etc/docker/daemon.json:1:4: invalid JSON: invalid character '{' after top-level value"},
		{"// comment\n{}", "/etc/docker/daemon.json:1:1: invalid JSON: invalid character '/' looking for beginning of value"},
		{"[1, 2]", "/etc/docker/daemon.json: not a JSON object (the top level is an array)"},
		{"\"agent\"", "/etc/docker/daemon.json: not a JSON object (the top level is a string)"},
		{"null", "/etc/docker/daemon.json: not a JSON object (the top level is null)"},
	}
	for _, tt := range tests {
		_, err := Parse(DefaultPath, []byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got  %v\n want %s", tt.in, err, tt.want)
		}
	}
}

func TestStringNotAString(t *testing.T) {
	c, _ := Parse(DefaultPath, []byte(`{"userns-remap": true}`))
	if _, ok, err := c.UsernsRemap(); !ok || err == nil || err.Error() != "/etc/docker/daemon.json: userns-remap: want a string, got true" {
		t.Fatalf("%v %v", ok, err)
	}
	if _, ok, err := c.String("data-root"); ok || err != nil {
		t.Fatalf("absent key: %v %v", ok, err)
	}
	if got := c.Keys(); !reflect.DeepEqual(got, []string{"userns-remap"}) {
		t.Fatalf("keys %v", got)
	}
}

func TestLoadMissingAndInvalid(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/docker/bad.json": "{"})
	r, _ := hostfs.Open(dir)
	c, exists, err := Load(r, DefaultPath)
	if err != nil || exists {
		t.Fatalf("missing: %v %v", exists, err)
	}
	if out, _ := c.Set(Key, "agent"); string(out) != "{\n  \"userns-remap\": \"agent\"\n}\n" {
		t.Fatalf("%q", out)
	}
	before := hostfstest.Snapshot(t, dir)
	if _, _, err := Load(r, "/etc/docker/bad.json"); err == nil || !strings.HasPrefix(err.Error(), "/etc/docker/bad.json:1:1: invalid JSON") {
		t.Fatalf("got %v", err)
	}
	hostfstest.Unchanged(t, dir, before)
}

// members decodes the top-level object into ordered key/raw-value pairs.
func members(t *testing.T, data []byte) [][2]string {
	c, err := Parse("x", data)
	if err != nil {
		t.Fatalf("parse %q: %v", data, err)
	}
	var out [][2]string
	for _, m := range c.members {
		out = append(out, [2]string{m.key, string(data[m.valStart:m.valEnd])})
	}
	return out
}

// FuzzSet: on any daemon.json that parses, Set keeps every other member's
// key and raw value in order, the result parses with the new value, and
// Remove takes it out again (byte for byte when Set added it).
func FuzzSet(f *testing.F) {
	for _, s := range []string{"", "{}", "{\"a\":1}", "{\n  \"debug\": true,\n  \"userns-remap\": \"x\"\n}\n", "{\"a\":{\"b\":[1,\"]\"]}}", "[1]", "{\"a\":1,}"} {
		f.Add([]byte(s), "agent")
	}
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		c, err := Parse(DefaultPath, data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), DefaultPath) {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		set, err := c.Set(Key, value)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(DefaultPath, set)
		if err != nil {
			t.Fatalf("Set made invalid JSON %q: %v", set, err)
		}
		if got, ok, err := c2.UsernsRemap(); !ok || err != nil || (got != value && utf8.ValidString(value)) {
			t.Fatalf("value %q, want %q (%v %v)", got, value, ok, err)
		}
		var others, othersAfter [][2]string
		if !c.empty {
			for _, m := range members(t, data) {
				if m[0] != Key {
					others = append(others, m)
				}
			}
		}
		for _, m := range members(t, set) {
			if m[0] != Key {
				othersAfter = append(othersAfter, m)
			}
		}
		if !reflect.DeepEqual(others, othersAfter) {
			t.Fatalf("other members changed:\n%q\n%q", others, othersAfter)
		}
		removed := c2.Remove(Key)
		c3, err := Parse(DefaultPath, removed)
		if err != nil {
			t.Fatalf("Remove made invalid JSON %q: %v", removed, err)
		}
		if _, ok := c3.Raw(Key); ok {
			t.Fatalf("key still there: %q", removed)
		}
		if _, had := c.Raw(Key); !had && len(c.members) > 0 && !bytes.Equal(removed, data) {
			t.Fatalf("remove after set:\n got %q\nwant %q", removed, data)
		}
	})
}

func TestFeature(t *testing.T) {
	c, err := Parse("/etc/docker/daemon.json", []byte(`{"features": {"containerd-snapshotter": true, "cdi": false}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, set, err := c.Feature("containerd-snapshotter"); !v || !set || err != nil {
		t.Errorf("containerd-snapshotter: %v %v %v", v, set, err)
	}
	if v, set, _ := c.Feature("cdi"); v || !set {
		t.Errorf("cdi: %v %v", v, set)
	}
	if _, set, _ := c.Feature("other"); set {
		t.Error("other: set")
	}
	bad, _ := Parse("/etc/docker/daemon.json", []byte(`{"features": ["x"]}`))
	if _, _, err := bad.Feature("x"); err == nil || !strings.Contains(err.Error(), "/etc/docker/daemon.json: features:") {
		t.Errorf("features not an object: %v", err)
	}
}
