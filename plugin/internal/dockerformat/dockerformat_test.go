package dockerformat

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// agentMap is the owner layout of agent (uid 999).
var agentMap = idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}

func fleetResults() []fleet.Result {
	return []fleet.Result{
		{Host: "h1", Result: "enabled", Seconds: 12.5, Message: `userns-remap "agent" -> uid map 0 999 1`, Canary: true},
		{Host: "h2-long-name", Result: "reverted", Seconds: 3, Message: "the daemon did not come back", Failed: true},
	}
}

// TestWriteFormattedAsDocker: --format as docker's list commands take it
// (docker/cli cli/command/formatter, Context.Write), on a fleet's results
// and on one status.
func TestWriteFormattedAsDocker(t *testing.T) {
	status := remap.Status{Daemon: &daemon.State{Version: "26.1.5", Remapped: true, DataRoot: "/var/lib/docker/999.999"}, Setting: "agent", UIDMap: agentMap, HostUserns: []string{"bypass"}}
	for _, tc := range []struct {
		name, format string
		value        any
		want         string
	}{
		{"bare table is the default table", "table", fleetResults(), "DEFAULT\n"},
		{"no format is the default table", "", status, "DEFAULT\n"},
		{"json is one compact object per item per line, the item's own keys, no HTML escapes", "json", fleetResults(),
			`{"host":"h1","result":"enabled","seconds":12.5,"message":"userns-remap \"agent\" -> uid map 0 999 1","failed":false,"canary":true}` + "\n" +
				`{"host":"h2-long-name","result":"reverted","seconds":3,"message":"the daemon did not come back","failed":true}` + "\n"},
		{"json of one value is one line", "json", remap.Status{Setting: "agent"}, `{"setting":"agent"}` + "\n"},
		{"table template: docker's headers and columns", `table {{.Host}}\t{{.Result}}\t{{.Seconds}}`, fleetResults(),
			"HOST           RESULT     SECONDS\nh1             enabled    12.5\nh2-long-name   reverted   3\n"},
		{"table template of no items is the header", `table {{.Setting}}\t{{.DaemonError}}`, []remap.Status{}, "SETTING   DAEMON ERROR\n"},
		{"template per item", `{{.Host}}={{.Failed}}`, fleetResults(), "h1=false\nh2-long-name=true\n"},
		{"nested fields and String methods", `{{.Daemon.Remapped}} {{.Setting}} {{.UIDMap}}`, status, "true agent 0 999 1, 1 165536 65535\n"},
		{"nested field in a table is headed by its own name", `table {{.Daemon.Version}}\t{{.Setting}}`, status,
			"VERSION   SETTING\n26.1.5    agent\n"},
		{"json of a field is that field's JSON", `{{json .UIDMap}}`, status, `[{"container":0,"host":999,"size":1},{"container":1,"host":165536,"size":65535}]` + "\n"},
		{"a JSON key that is not the Go name names the field too", `{{.HostUsernsContainers}} {{.HostUserns}}`, status, "[bypass] [bypass]\n"},
		{"promoted fields of embedded structs", `{{.Ref}} {{.Name}} {{.MaxUID}} {{.Fits}}`, []imagescan.Row{{Ref: "a.tar", Image: imagescan.Image{Name: "a:1", MaxUID: 70000}}},
			"a.tar a:1 70000 false\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.format, tc.value, func(w io.Writer) error {
				_, err := io.WriteString(w, "DEFAULT\n")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("--format %q:\n got %q\nwant %q", tc.format, buf.String(), tc.want)
			}
		})
	}
}

// TestWriteFormattedRefusesUnknownFields: a field the items lack is an
// error naming it, as docker's "can't evaluate field", not "<no value>";
// fields under range and with, map keys and methods of nested values are
// left to the template.
func TestWriteFormattedRefusesUnknownFields(t *testing.T) {
	status := remap.Status{Daemon: &daemon.State{Version: "26.1.5"}, Setting: "agent", UIDMap: agentMap}
	for _, tc := range []struct {
		format string
		value  any
		bad    string
	}{
		{"{{.Nope}}", fleetResults(), ".Nope"},
		{`table {{.Host}}\t{{.Daemon}}`, fleetResults(), ".Daemon"},
		{"{{.Daemon.Nope}}", status, ".Daemon.Nope"},
		{"{{if .Daemon}}{{.Setting}} {{.Sett}}{{end}}", status, ".Sett"},
		{"{{.Setting | printf \"%s %v\" .Nope}}", status, ".Nope"},
		{"{{.Daemon.Version}} {{.UIDMap.Size}} {{json .Daemon}}", status, ""},
		{"{{range .UIDRanges}}{{.Owner}}{{end}}{{with .Daemon}}{{.Version}}{{end}}", status, ""},
		{"{{.Started.Unix}} {{len .Checks}}", livecheck.Report{Started: time.Unix(1, 0)}, ""},
	} {
		err := Write(&bytes.Buffer{}, tc.format, tc.value, nil)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("--format %q: %v", tc.format, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), "can't evaluate field "+tc.bad+":")):
			t.Errorf("--format %q: %v, want an error naming %s", tc.format, err, tc.bad)
		}
	}
}

func TestWriteFormattedRefusesABadTemplate(t *testing.T) {
	err := Write(&bytes.Buffer{}, "{{.Host", fleetResults(), nil)
	if err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Errorf("got %v, want docker's template parsing error", err)
	}
}

// TestJSONLinesReadBack: what a helper container prints with --format
// json, the client reads back, one item or a list.
func TestJSONLinesReadBack(t *testing.T) {
	var buf bytes.Buffer
	findings := remap.Findings{
		{Check: "subuid", Verdict: remap.Warn, Detail: "agent has no range", Fix: "docker userns enable agent"},
		{Check: "daemon.json", Verdict: remap.Fail, Detail: "/etc/docker/daemon.json line 3: invalid character '}'"},
	}
	if err := Write(&buf, "json", findings, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(findings) {
		t.Fatalf("%d lines for %d findings:\n%s", n, len(findings), buf.String())
	}
	var back remap.Findings
	if err := Read(buf.String(), &back); err != nil || !reflect.DeepEqual(back, findings) {
		t.Errorf("read back %+v, %v; want %+v", back, err, findings)
	}
	buf.Reset()
	st := remap.Status{Setting: "agent", Warnings: []string{"w"}}
	if err := Write(&buf, "json", st, nil); err != nil {
		t.Fatal(err)
	}
	var stBack remap.Status
	if err := Read(buf.String(), &stBack); err != nil || !reflect.DeepEqual(stBack, st) {
		t.Errorf("read back %+v, %v; want %+v", stBack, err, st)
	}
}

// TestTemplatesSeeTheJSONFields: every key of an item's JSON is a field a
// template names, spelled the same but for case (uidMap: .UIDMap), for
// each type a command prints with --format.
func TestTemplatesSeeTheJSONFields(t *testing.T) {
	for _, v := range []any{
		remap.Status{}, remap.Finding{}, livecheck.Report{Started: time.Now()}, imagescan.Row{}, remap.PublicOutcome{}, fleet.Result{},
	} {
		t.Run(reflect.TypeOf(v).String(), func(t *testing.T) {
			keys := map[string]any{}
			data, err := json.Marshal(filled(reflect.TypeOf(v)).Interface())
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &keys); err != nil {
				t.Fatal(err)
			}
			item := newFormatItem(reflect.ValueOf(v))
			for k := range keys {
				found := false
				for name := range item {
					found = found || strings.EqualFold(name, k)
				}
				if !found {
					t.Errorf("JSON key %q has no template field of that name", k)
				}
			}
		})
	}
}

// filled is a value of t whose every field is set (omitempty drops none).
func filled(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	for _, f := range reflect.VisibleFields(t) {
		fv, err := v.FieldByIndexErr(f.Index)
		if err != nil || !f.IsExported() || !fv.CanSet() || len(f.Index) > 1 {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Pointer:
			fv.Set(reflect.New(f.Type.Elem()))
		case reflect.Slice:
			fv.Set(reflect.MakeSlice(f.Type, 1, 1))
		case reflect.Map:
			fv.Set(reflect.MakeMap(f.Type))
		case reflect.String:
			fv.SetString("x")
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Int, reflect.Int64, reflect.Int32:
			fv.SetInt(1)
		case reflect.Uint, reflect.Uint64, reflect.Uint32:
			fv.SetUint(1)
		case reflect.Float64:
			fv.SetFloat(1)
		}
	}
	return v
}
