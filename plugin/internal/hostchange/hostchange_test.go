package hostchange

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

var baseFiles = map[string]string{
	"/etc/subuid":                  "# subordinate uids\nalice:100000:65536\n",
	"/etc/subgid":                  "alice:100000:65536\n",
	"/etc/docker/daemon.json":      "{\n  \"debug\": true\n}\n",
	"/var/lib/docker-userns/.keep": "",
}

// enableSet is what enable agent would write on baseFiles.
func enableSet(t *testing.T, r hostfs.Root) Set {
	t.Helper()
	read := func(p string) ([]byte, bool) {
		data, err := r.ReadFile(p)
		return data, err == nil
	}
	var s Set
	for _, p := range []string{"/etc/subuid", "/etc/subgid"} {
		old, ok := read(p)
		f, err := subid.Parse(p, old)
		if err != nil {
			t.Fatal(err)
		}
		f.Add("agent", 999, 1)
		f.Add("agent", 165536, 65535)
		s = append(s, Change{Path: p, Old: old, OldExists: ok, New: f.Bytes(), Lock: true})
	}
	old, ok := read("/etc/docker/daemon.json")
	s = append(s, Change{Path: "/etc/docker/daemon.json", Old: old, OldExists: ok,
		New: []byte("{\n  \"debug\": true,\n  \"userns-remap\": \"agent\"\n}\n")})
	old, ok = read("/etc/docker/extra.json")
	s = append(s, Change{Path: "/etc/docker/extra.json", Old: old, OldExists: ok, New: []byte("{}\n"), Perm: 0o600})
	return s
}

func TestApplyAndRestore(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, dir)
	set := enableSet(t, r)
	a, err := set.Apply(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range set {
		if got, _ := r.ReadFile(c.Path); string(got) != string(c.New) {
			t.Errorf("%s = %q", c.Path, got)
		}
	}
	if len(a.Files) != 4 || !a.Files[3].Created || a.Files[0].Backup != "/etc/subuid"+hostfs.BackupSuffix {
		t.Fatalf("%+v", a.Files)
	}
	if err := a.Restore(); err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestApplyFailureRollsBack(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	set := enableSet(t, r)
	hostfstest.ReadOnly(t, filepath.Join(dir, "etc/docker"))
	before := hostfstest.Snapshot(t, dir)
	_, err := set.Apply(r, nil)
	if err == nil {
		t.Fatal("apply on a read-only /etc/docker succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "/etc/docker/daemon.json") || !hostfs.IsPermission(err) {
		t.Errorf("error %q", msg)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestApplyChangedMeanwhile(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	set := enableSet(t, r)
	// Someone runs usermod between plan and apply.
	os.WriteFile(filepath.Join(dir, "etc/subgid"), []byte("alice:100000:65536\nbob:165536:65536\n"), 0o644)
	before := hostfstest.Snapshot(t, dir)
	_, err := set.Apply(r, nil)
	if !errors.Is(err, ErrChangedMeanwhile) || err.Error() != "/etc/subgid: changed since it was read: run the command again" {
		t.Fatalf("got %v", err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestApplyNothingToDo(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, dir)
	data, _ := r.ReadFile("/etc/subuid")
	set := Set{{Path: "/etc/subuid", Old: data, OldExists: true, New: data, Lock: true}}
	if set.Changed() || set.Diff() != "" {
		t.Fatal("reported a change")
	}
	a, err := set.Apply(r, nil)
	if err != nil || len(a.Files) != 0 {
		t.Fatalf("%+v %v", a, err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestStateDisableRestoresByteForByte(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, dir)
	a, err := enableSet(t, r).Apply(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &State{Remap: "agent", DaemonJSON: "/etc/docker/daemon.json",
		AddedUID: []subid.Range{{Owner: "agent", Start: 999, Count: 1}}}
	st.Record(a)
	if err := st.Save(r); err != nil {
		t.Fatal(err)
	}
	// A second enable, planned from the new content, writes nothing.
	a2, err := enableSet(t, r).Apply(r, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(a2.Files) != 0 {
		t.Fatalf("wrote %+v", a2.Files)
	}
	st.Record(a2)

	loaded, err := LoadState(r)
	if err != nil || loaded == nil || len(loaded.Files) != 4 || loaded.AddedUID[0].Start != 999 {
		t.Fatalf("%+v %v", loaded, err)
	}
	for _, f := range loaded.Files {
		undo, err := RestoreFile(r, f, true)
		if err != nil || undo != Restored {
			t.Fatalf("%s: %v %v", f.Path, undo, err)
		}
	}
	if err := RemoveState(r); err != nil {
		t.Fatal(err)
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestRestoreFileEditedSinceEnable(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	a, err := enableSet(t, r).Apply(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "etc/docker/daemon.json"), []byte("{\"userns-remap\": \"agent\", \"x\": 1}"), 0o644)
	os.Remove(filepath.Join(dir, "etc/subgid"+hostfs.BackupSuffix))
	before := hostfstest.Snapshot(t, dir)
	want := map[string]Undo{"/etc/subuid": Restored, "/etc/subgid": NoBackup, "/etc/docker/daemon.json": Edited, "/etc/docker/extra.json": Restored}
	for _, f := range a.Files {
		undo, err := RestoreFile(r, f, true)
		if err != nil || undo != want[f.Path] {
			t.Errorf("%s: %v %v", f.Path, undo, err)
		}
	}
	after := hostfstest.Snapshot(t, dir)
	for _, p := range []string{"etc/docker/daemon.json", "etc/subgid"} {
		if before[p] != after[p] {
			t.Errorf("%s touched", p)
		}
	}
}

func TestLoadStateErrors(t *testing.T) {
	for _, tt := range []struct{ data, want string }{
		{"{", "read /var/lib/docker-userns/state.json: unexpected end of JSON input"},
		{`{"version": 9}`, "read /var/lib/docker-userns/state.json: version 9, this tool knows 1"},
	} {
		r, _ := hostfs.Open(hostfstest.Tree(t, map[string]string{StatePath: tt.data}))
		if _, err := LoadState(r); err == nil || err.Error() != tt.want {
			t.Errorf("got %v", err)
		}
	}
	r, _ := hostfs.Open(t.TempDir())
	if s, err := LoadState(r); s != nil || err != nil {
		t.Errorf("missing state: %v %v", s, err)
	}
}

func TestDiffCases(t *testing.T) {
	tests := []struct {
		name, old, new string
		oldExists      bool
		newExists      bool
		want           string
	}{
		{"append", "a\nb\n", "a\nb\nc\n", true, true, "--- /f\n+++ /f\n@@ -1,2 +1,3 @@\n a\n b\n+c\n"},
		{"new file", "", "{}\n", false, true, "--- /dev/null\n+++ /f\n@@ -0,0 +1 @@\n+{}\n"},
		{"removed file", "x\n", "", true, false, "--- /f\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"},
		{"no final newline", "a", "a\nb\n", true, true, "--- /f\n+++ /f\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n"},
		{"same", "a\n", "a\n", true, true, ""},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n", true, true,
			"--- /f\n+++ /f\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n@@ -10,3 +11,4 @@\n 10\n 11\n 12\n+13\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UnifiedDiff("/f", []byte(tt.old), []byte(tt.new), tt.oldExists, tt.newExists)
			if got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestDiffAppliesWithPatch feeds our diffs to patch(1): the result must be
// the new content exactly.
func TestDiffAppliesWithPatch(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Fatalf("patch(1) is needed: %v", err)
	}
	long := func(n int, skip map[int]bool, extra map[int]string) string {
		var b strings.Builder
		for i := range n {
			if v, ok := extra[i]; ok {
				b.WriteString(v + "\n")
			}
			if !skip[i] {
				b.WriteString("line " + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "\n")
			}
		}
		return b.String()
	}
	cases := [][2]string{
		{"a\nb\n", "a\nb\nc\n"},
		{"", "x\ny\n"},
		{"a", "a\nb\n"},
		{"a\nb\n", "a\nb"},
		{long(40, nil, nil), long(40, map[int]bool{3: true, 30: true}, map[int]string{10: "new", 39: "end"})},
		{long(200, map[int]bool{0: true, 100: true, 199: true}, nil), long(200, nil, map[int]string{50: "mid"})},
		{"{\n  \"debug\": true\n}\n", "{\n  \"debug\": true,\n  \"userns-remap\": \"agent\"\n}\n"},
	}
	for i, c := range cases {
		dir := t.TempDir()
		oldFile := filepath.Join(dir, "old")
		os.WriteFile(oldFile, []byte(c[0]), 0o644)
		diff := UnifiedDiff("/etc/x", []byte(c[0]), []byte(c[1]), true, true)
		out := filepath.Join(dir, "out")
		cmd := exec.Command(patch, "-s", "-o", out, oldFile)
		cmd.Stdin = strings.NewReader(diff)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("case %d: patch: %v %s\n%s", i, err, msg, diff)
		}
		if got, _ := os.ReadFile(out); string(got) != c[1] {
			t.Errorf("case %d: patched %q, want %q\n%s", i, got, c[1], diff)
		}
	}
}

func TestSetDiff(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	before := hostfstest.Snapshot(t, dir)
	d := enableSet(t, r).Diff()
	for _, want := range []string{
		"--- /etc/subuid\n+++ /etc/subuid\n@@ -1,2 +1,4 @@\n # subordinate uids\n alice:100000:65536\n+agent:999:1\n+agent:165536:65535\n",
		"--- /etc/docker/daemon.json\n+++ /etc/docker/daemon.json\n@@ -1,3 +1,4 @@\n {\n-  \"debug\": true\n+  \"debug\": true,\n+  \"userns-remap\": \"agent\"\n }\n",
		"--- /dev/null\n+++ /etc/docker/extra.json\n@@ -0,0 +1 @@\n+{}\n",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks\n%s\nin\n%s", want, d)
		}
	}
	hostfstest.Unchanged(t, dir, before)
}

// TestRestoreAllKeepsEditsMadeMeanwhile (issue 12, case 3): a revert after
// someone edited the files during the confirm window (useradd appending a
// range, an editor changing daemon.json, a file we created rewritten)
// undoes only our change, by editing: their lines and keys stay.
func TestRestoreAllKeepsEditsMadeMeanwhile(t *testing.T) {
	dir := hostfstest.Tree(t, baseFiles)
	r, _ := hostfs.Open(dir)
	a, err := enableSet(t, r).Apply(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	saved := a.Save()
	for _, p := range []string{"/etc/subuid", "/etc/subgid"} {
		cur, _ := r.ReadFile(p)
		hostfstest.Write(t, dir, map[string]string{p: string(cur) + "bob:300000:65536\n"})
	}
	hostfstest.Write(t, dir, map[string]string{
		"/etc/docker/daemon.json": "{\n  \"debug\": true,\n  \"userns-remap\": \"agent\",\n  \"log-level\": \"info\"\n}\n",
		"/etc/docker/extra.json":  "{\"x\": 1}\n",
	})
	if err := RestoreAll(r, saved, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/etc/subuid":             baseFiles["/etc/subuid"] + "bob:300000:65536\n",
		"/etc/subgid":             baseFiles["/etc/subgid"] + "bob:300000:65536\n",
		"/etc/docker/daemon.json": "{\n  \"debug\": true,\n  \"log-level\": \"info\"\n}\n",
		"/etc/docker/extra.json":  "{\"x\": 1}\n",
	}
	for p, w := range want {
		if got, err := r.ReadFile(p); err != nil || string(got) != w {
			t.Errorf("%s after the revert: %q %v, want %q", p, got, err, w)
		}
	}
}

// TestRestoreEditPutsRemovedLinesBackInPlace: a revert that edits puts a
// line the change removed back where it was (dockerd reads a user's lines
// in file order), above the line that followed it.
func TestRestoreEditPutsRemovedLinesBackInPlace(t *testing.T) {
	old := "agent:300000:1000\nagent:400000:1000\nalice:100000:65536\n"
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": old})
	r, _ := hostfs.Open(dir)
	set := Set{{Path: "/etc/subuid", Old: []byte(old), OldExists: true, New: []byte("alice:100000:65536\nagent:999:1\n"), Lock: true}}
	a, err := set.Apply(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	hostfstest.Write(t, dir, map[string]string{"/etc/subuid": "alice:100000:65536\nagent:999:1\nbob:900000:65536\n"})
	if err := RestoreAll(r, a.Save(), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.ReadFile("/etc/subuid"); string(got) != old+"bob:900000:65536\n" {
		t.Errorf("after the revert:\n%s", got)
	}
}

// TestUnifiedDiffOfALongFileIsSmall: one line appended to a 2001-line
// subuid is a one-hunk diff with three lines of context, not the file.
func TestUnifiedDiffOfALongFileIsSmall(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 2001; i++ {
		fmt.Fprintf(&b, "user%d:%d:65536\n", i, 100000+i*65536)
	}
	old := b.String()
	diff := UnifiedDiff("/etc/subuid", []byte(old), []byte(old+"agent:1000:1\n"), true, true)
	line := func(i int) string { return fmt.Sprintf(" user%d:%d:65536\n", i, 100000+i*65536) }
	want := "--- /etc/subuid\n+++ /etc/subuid\n@@ -1999,3 +1999,4 @@\n" + line(1998) + line(1999) + line(2000) + "+agent:1000:1\n"
	if diff != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", diff, want)
	}
}
