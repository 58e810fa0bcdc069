// Package daemonconfig reads dockerd's daemon.json and edits one top-level
// key in place: the bytes of every other key, their order, formatting and
// white space survive, so a merge is a minimal diff, not a rewrite.
package daemonconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// DefaultPath is where dockerd reads its configuration unless --config-file says otherwise.
const DefaultPath = "/etc/docker/daemon.json"

// UsernsRemap is the daemon.json key this tool manages (Key is its short name).
const (
	UsernsRemap = "userns-remap"
	Key         = UsernsRemap
)

// defaultIndent indents a key in a file that gives no example to follow.
const defaultIndent = "  "

var bom = []byte("\xef\xbb\xbf")

// member is one top-level key and value, as byte offsets into Config.data.
type member struct {
	key              string
	keyStart, keyEnd int
	valStart, valEnd int
}

// Config is a parsed daemon.json that remembers where each top-level key is.
type Config struct {
	path    string
	data    []byte
	empty   bool // no content at all (missing, empty or only white space)
	open    int  // offset of '{'
	close   int  // offset of '}'
	members []member
}

// Load reads the daemon.json at host path p under root; a missing file is an
// empty configuration (Exists reports false).
func Load(root hostfs.Root, p string) (*Config, bool, error) {
	data, err := root.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		c, _ := Parse(p, nil)
		return c, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	c, err := Parse(p, data)
	return c, true, err
}

// Parse parses daemon.json content read from path (path only names errors).
// Invalid JSON gives "path:line:col: reason"; valid JSON that is not an
// object gives "path: not a JSON object".
func Parse(path string, data []byte) (*Config, error) {
	c := &Config{path: path, data: data}
	body := bytes.TrimPrefix(data, bom)
	base := len(data) - len(body)
	if len(bytes.TrimSpace(body)) == 0 {
		c.empty = true
		return c, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, base+int(se.Offset))
			return nil, fmt.Errorf("%s:%d:%d: invalid JSON: %s", path, line, col, se.Error())
		}
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("%s: not a JSON object (the top level is %s)", path, kind(v))
	}
	c.scan(base)
	return c, nil
}

func kind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// position turns the offset json reports (bytes read when the error struck)
// into a 1-based line and column of the offending byte.
func position(data []byte, off int) (int, int) {
	if off > 0 {
		off-- // the byte that was read last is the culprit
	}
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// scan records the top-level members of data, known to be a valid object.
func (c *Config) scan(pos int) {
	d := c.data
	ws := func() {
		for pos < len(d) && (d[pos] == ' ' || d[pos] == '\t' || d[pos] == '\n' || d[pos] == '\r') {
			pos++
		}
	}
	ws()
	c.open = pos
	pos++
	for {
		ws()
		if d[pos] == '}' {
			c.close = pos
			return
		}
		if d[pos] == ',' {
			pos++
			continue
		}
		var m member
		m.keyStart = pos
		pos = skipString(d, pos)
		m.keyEnd = pos
		_ = json.Unmarshal(d[m.keyStart:m.keyEnd], &m.key)
		ws()
		pos++ // ':'
		ws()
		m.valStart = pos
		pos = skipValue(d, pos)
		m.valEnd = pos
		c.members = append(c.members, m)
	}
}

// skipString returns the offset just past the string starting at pos.
func skipString(d []byte, pos int) int {
	for pos++; pos < len(d); pos++ {
		switch d[pos] {
		case '\\':
			pos++
		case '"':
			return pos + 1
		}
	}
	return pos
}

// skipValue returns the offset just past the value starting at pos.
func skipValue(d []byte, pos int) int {
	switch d[pos] {
	case '"':
		return skipString(d, pos)
	case '{', '[':
		depth := 0
		for pos < len(d) {
			switch d[pos] {
			case '"':
				pos = skipString(d, pos)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return pos + 1
				}
			}
			pos++
		}
		return pos
	default:
		for pos < len(d) && bytes.IndexByte([]byte(",}] \t\r\n"), d[pos]) < 0 {
			pos++
		}
		return pos
	}
}

// Path is the path the configuration was read from.
func (c *Config) Path() string { return c.path }

// Bytes is the content as parsed.
func (c *Config) Bytes() []byte { return c.data }

// Keys lists the top-level keys in file order.
func (c *Config) Keys() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.key)
	}
	return out
}

// Raw returns the raw bytes of key's value (the last one, as dockerd's JSON
// decoding takes the last of duplicate keys).
func (c *Config) Raw(key string) (json.RawMessage, bool) {
	for i := len(c.members) - 1; i >= 0; i-- {
		if m := c.members[i]; m.key == key {
			return json.RawMessage(c.data[m.valStart:m.valEnd]), true
		}
	}
	return nil, false
}

// String returns key's value when it is a JSON string.
func (c *Config) String(key string) (string, bool, error) {
	raw, ok := c.Raw(key)
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("%s: %s: want a string, got %s", c.path, key, raw)
	}
	return s, true, nil
}

// Feature returns the value of features.NAME ("containerd-snapshotter")
// and whether it is set.
func (c *Config) Feature(name string) (bool, bool, error) {
	raw, ok := c.Raw("features")
	if !ok {
		return false, false, nil
	}
	var features map[string]bool
	if err := json.Unmarshal(raw, &features); err != nil {
		return false, false, fmt.Errorf("%s: features: want an object of true or false, got %s", c.path, raw)
	}
	v, set := features[name]
	return v, set, nil
}

// UsernsRemap returns the userns-remap value and whether it is set.
func (c *Config) UsernsRemap() (string, bool, error) { return c.String(Key) }

// Set returns the content with key set to the JSON encoding of value: an
// existing value's bytes are replaced in place; a new key goes after the last
// one, indented like the file's first key; a missing or empty file becomes
// {"key": value} on its own lines.
func (c *Config) Set(key string, value any) ([]byte, error) {
	var enc bytes.Buffer
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	if err := e.Encode(value); err != nil {
		return nil, fmt.Errorf("set %s in %s: %w", key, c.path, err)
	}
	val := bytes.TrimSuffix(enc.Bytes(), []byte("\n"))
	keyJSON, _ := json.Marshal(key)

	if c.empty {
		prefix := []byte{}
		if bytes.HasPrefix(c.data, bom) {
			prefix = bom
		}
		return fmt.Appendf(prefix, "{\n%s%s: %s\n}\n", defaultIndent, keyJSON, val), nil
	}
	var out []byte
	found := false
	last := 0
	for _, m := range c.members {
		if m.key == key {
			out = append(out, c.data[last:m.valStart]...)
			out = append(out, val...)
			last = m.valEnd
			found = true
		}
	}
	if found {
		return append(out, c.data[last:]...), nil
	}
	if len(c.members) == 0 {
		out = append(out, c.data[:c.open+1]...)
		out = fmt.Appendf(out, "\n%s%s: %s\n", defaultIndent, keyJSON, val)
		return append(out, c.data[c.close:]...), nil
	}
	first, end := c.members[0], c.members[len(c.members)-1]
	// White space before a key: from the comma before the last key, or the brace before the first.
	lead := c.data[c.open+1 : first.keyStart]
	if len(c.members) > 1 {
		prev := c.members[len(c.members)-2]
		between := c.data[prev.valEnd:end.keyStart]
		lead = between[bytes.IndexByte(between, ',')+1:]
	}
	if i := bytes.LastIndexByte(lead, '\n'); i >= 0 {
		lead = append([]byte("\n"), lead[i+1:]...)
	}
	colon := c.data[first.keyEnd:first.valStart]
	if len(lead) == 0 && bytes.IndexByte(colon, ' ') >= 0 {
		lead = []byte(" ") // {"a": 1} reads best as {"a": 1, "b": 2}
	}
	out = append(out, c.data[:end.valEnd]...)
	out = append(out, ',')
	out = append(out, lead...)
	out = append(out, keyJSON...)
	out = append(out, colon...)
	out = append(out, val...)
	return append(out, c.data[end.valEnd:]...), nil
}

// Remove returns the content without key (every occurrence). Removing a key
// that Set added returns the bytes from before Set.
func (c *Config) Remove(key string) []byte {
	cur := c
	for {
		out, removed := cur.removeFirst(key)
		if !removed {
			return out
		}
		next, err := Parse(c.path, out)
		if err != nil {
			// Cannot happen: cutting a whole member keeps the object valid.
			panic(fmt.Sprintf("daemonconfig: removing %s broke %s: %v", key, c.path, err))
		}
		cur = next
	}
}

// removeFirst cuts the first member named key and its separator.
func (c *Config) removeFirst(key string) ([]byte, bool) {
	if c.empty {
		return c.data, false
	}
	for i, m := range c.members {
		if m.key != key {
			continue
		}
		var from, to int
		switch {
		case i > 0:
			// ", key: value" after the previous value.
			from, to = c.members[i-1].valEnd, m.valEnd
		case len(c.members) > 1:
			// "key: value, " up to the next key.
			from, to = m.keyStart, c.members[1].keyStart
		default:
			// The only key: the object becomes {}.
			from, to = c.open+1, c.close
		}
		out := append([]byte{}, c.data[:from]...)
		return append(out, c.data[to:]...), true
	}
	return c.data, false
}
