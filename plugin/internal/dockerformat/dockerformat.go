// Package dockerformat prints the plugin's values as docker's own list
// commands print theirs under --format (a default table, "json", "table
// TEMPLATE", "TEMPLATE"), through docker/cli's formatter, and reads back
// the "json" lines a helper container printed. It knows no command.
package dockerformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"text/template/parse"
	"unicode"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/docker/cli/templates"
	"github.com/spf13/pflag"
)

// flagUsage is the --format help, worded as docker's own commands word it.
const flagUsage = `Format output using a custom template:
'table':            Print output in table format (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`

// AddFlag adds --format, whose value Write takes.
func AddFlag(flags *pflag.FlagSet, format *string) {
	flags.StringVar(format, "format", "", flagUsage)
}

// Write prints value as docker's list commands print theirs,
// through docker/cli's formatter (Context.Write): "" and "table" draw the
// default table (table); "json" prints each item as one compact JSON object
// on a line ({{json .}}, as `docker image ls --format json`); "table
// TEMPLATE" prints TEMPLATE for each item under a header, "TEMPLATE" each
// item alone. The items of a slice are its elements; any other value is
// one item. A template sees an item's fields by their Go names
// (formatItem), and by its JSON keys with a capital first letter.
func Write(out io.Writer, format string, value any, table func(io.Writer) error) error {
	if format == "" || format == formatter.TableFormatKey {
		return table(out)
	}
	items, header, err := formatItems(value)
	if err != nil {
		return err
	}
	if err := checkTemplateFields(format, header.Header.(formatHeader)); err != nil {
		return err
	}
	fctx := formatter.Context{Output: out, Format: formatter.Format(format)}
	return fctx.Write(header, func(write func(formatter.SubContext) error) error {
		for _, it := range items {
			if err := write(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// Read decodes what Write printed with "json" into v: one
// object per line, appended to *v when v points to a slice (a helper
// container's answer, read back by the client).
func Read(data string, v any) error {
	dst := reflect.ValueOf(v).Elem()
	dec := json.NewDecoder(strings.NewReader(data))
	if dst.Kind() != reflect.Slice {
		return dec.Decode(v)
	}
	for dec.More() {
		elem := reflect.New(dst.Type().Elem())
		if err := dec.Decode(elem.Interface()); err != nil {
			return err
		}
		dst.Set(reflect.Append(dst, elem.Elem()))
	}
	return nil
}

// formatItem is one item as a --format template sees it: each field under
// its names (fieldNames; an embedded struct's fields promoted, as Go
// promotes them),
// holding the field's own value, so nested fields and their String methods
// work ({{.Daemon.Remapped}}, {{.UIDMap}}). Under "" it keeps the item
// itself, which {{json .}} prints with the item's own JSON keys.
type formatItem map[string]any

// FullHeader makes formatItem a formatter.SubContext; the header comes
// from the item's type (formatHeader), not from one item.
func (formatItem) FullHeader() any { return nil }

// MarshalJSON is the item's own JSON, as one line would print it: not the
// map's (Go names), and without HTML escapes ("->" stays readable).
func (it formatItem) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(it[""]); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// formatItems turns value into the items Write prints and the
// header their type gives.
func formatItems(value any) ([]formatter.SubContext, *formatter.HeaderContext, error) {
	v := reflect.ValueOf(value)
	var elems []reflect.Value
	typ := v.Type()
	if v.Kind() == reflect.Slice {
		typ = typ.Elem()
		for i := range v.Len() {
			elems = append(elems, v.Index(i))
		}
	} else {
		elems = []reflect.Value{v}
	}
	if structType(typ) == nil {
		return nil, nil, fmt.Errorf("--format: cannot format a %s", typ)
	}
	items := make([]formatter.SubContext, len(elems))
	for i, e := range elems {
		items[i] = newFormatItem(e)
	}
	return items, &formatter.HeaderContext{Header: newFormatHeader(typ, "", nil)}, nil
}

func newFormatItem(v reflect.Value) formatItem {
	it := formatItem{"": v.Interface()}
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return it
	}
	for _, f := range reflect.VisibleFields(v.Type()) {
		if !f.IsExported() {
			continue
		}
		// A field promoted through a nil embedded pointer has no value.
		if fv, err := v.FieldByIndexErr(f.Index); err == nil {
			for _, name := range fieldNames(f) {
				it[name] = fv.Interface()
			}
		}
	}
	return it
}

// fieldNames are the names a template gives field f: its Go name, and its
// JSON key with a capital first letter where that is another name
// (hostUsernsContainers: .HostUsernsContainers beside .HostUserns).
func fieldNames(f reflect.StructField) []string {
	key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if key == "" || key == "-" || strings.EqualFold(key, f.Name) {
		return []string{f.Name}
	}
	return []string{f.Name, strings.ToUpper(key[:1]) + key[1:]}
}

// structType is t, or what t points to, when that is a struct; else nil.
func structType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

// formatHeader is what a "table TEMPLATE" header runs on: each field of the
// item's type under its Go name, holding the column's title as docker
// prints titles (MaxUID: "MAX UID"); a struct field holds a formatHeader of
// its own fields, so {{.Daemon.Remapped}} heads its column "REMAPPED". Its
// own title is under "".
type formatHeader map[string]any

func (h formatHeader) String() string {
	title, _ := h[""].(string)
	return title
}

// outer are the struct types t sits in, so a type that holds itself ends.
func newFormatHeader(t reflect.Type, title string, outer []reflect.Type) formatHeader {
	h := formatHeader{"": title}
	t = structType(t)
	outer = append(outer, t)
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		for _, name := range fieldNames(f) {
			if ft := structType(f.Type); ft != nil && !slices.Contains(outer, ft) {
				h[name] = newFormatHeader(ft, columnTitle(name), outer)
			} else {
				h[name] = columnTitle(name)
			}
		}
	}
	if len(outer) > 1 {
		// A nested value is itself: its methods answer too ({{.Started.Unix}}).
		ptr := reflect.PointerTo(t)
		for i := range ptr.NumMethod() {
			if name := ptr.Method(i).Name; h[name] == nil {
				h[name] = columnTitle(name)
			}
		}
	}
	return h
}

// checkTemplateFields refuses a template that names a field the items do
// not have, as docker does ("can't evaluate field"): over a formatItem,
// a map, text/template would print "<no value>" for it. Fields are
// checked as deep as the items' structs go, where the dot is an item (not
// inside range or with). A template that does not parse is left to
// formatter.Context.Write, which says so in docker's words.
func checkTemplateFields(format string, header formatHeader) error {
	tmpl, err := templates.Parse(strings.TrimPrefix(format, formatter.TableFormatKey))
	if err != nil || tmpl.Tree == nil {
		return nil
	}
	var bad []string
	var walkPipe func(*parse.PipeNode)
	var walk func(parse.Node)
	walkPipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, cmd := range p.Cmds {
			for _, arg := range cmd.Args {
				switch a := arg.(type) {
				case *parse.FieldNode:
					if missing := header.missing(a.Ident); missing != "" {
						bad = append(bad, missing)
					}
				case *parse.PipeNode:
					walkPipe(a)
				}
			}
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walkPipe(n.Pipe)
		case *parse.IfNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode: // the body's dot is an element
			walkPipe(n.Pipe)
			walk(n.ElseList)
		case *parse.WithNode: // the body's dot is the value
			walkPipe(n.Pipe)
			walk(n.ElseList)
		}
	}
	walk(tmpl.Tree.Root)
	if len(bad) > 0 {
		return fmt.Errorf("--format: can't evaluate field %s: no such field (an item has %s)", bad[0], strings.Join(header.names(), ", "))
	}
	return nil
}

// missing is the first part of the field path .A.B.C that h does not
// have, spelled as far as it goes (".Daemon.Nope"); "" when h has it, or
// when the path leaves the structs h knows (a map's keys, a method's).
func (h formatHeader) missing(path []string) string {
	for i, name := range path {
		v, ok := h[name]
		if !ok || name == "" {
			return "." + strings.Join(path[:i+1], ".")
		}
		if h, ok = v.(formatHeader); !ok {
			return ""
		}
	}
	return ""
}

// names are the fields h has, sorted.
func (h formatHeader) names() []string {
	var names []string
	for name := range h {
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// columnTitle spells a Go field name as docker's table headers are spelled:
// words upper-cased and apart (MaxUID: "MAX UID", UIDMap: "UID MAP").
func columnTitle(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			endsAcronym := unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || endsAcronym {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}
