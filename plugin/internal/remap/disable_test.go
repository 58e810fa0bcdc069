package remap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostchange"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
)

// appendTo adds text to the end of host files, as an operator's editor does.
func appendTo(t *testing.T, root hostfs.Root, text string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		old, err := root.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		hostfstest.Write(t, root.Dir(), map[string]string{p: string(old) + text})
	}
}

// wantFiles fails the test unless each host file holds exactly its content.
func wantFiles(t *testing.T, root hostfs.Root, want map[string]string) {
	t.Helper()
	for p, content := range want {
		got, err := root.ReadFile(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if string(got) != content {
			t.Errorf("%s:\n%s\nwant:\n%s", p, got, content)
		}
	}
}

// TestDisableRemoveRangesKeepsLinesOthersAdded (issue 12, case 1): bob's
// lines, appended between two enables, survive disable --remove-ranges; so
// does the content of a file whose backup is a leftover of a failed run.
func TestDisableRemoveRangesKeepsLinesOthersAdded(t *testing.T) {
	ctx := context.Background()
	t.Run("appended between two enables", func(t *testing.T) {
		files := baseHost()
		env := testEnv(t, hostfstest.Tree(t, files))
		if _, err := Enable(ctx, env, EnableOptions{Spec: "agent"}); err != nil {
			t.Fatal(err)
		}
		if _, err := Disable(ctx, env, DisableOptions{}); err != nil {
			t.Fatal(err)
		}
		appendTo(t, env.Root, "bob:900000:65536\n", SubUIDPath, SubGIDPath)
		if _, err := Enable(ctx, env, EnableOptions{Spec: "agent"}); err != nil {
			t.Fatal(err)
		}
		if _, err := Disable(ctx, env, DisableOptions{RemoveRanges: true}); err != nil {
			t.Fatal(err)
		}
		wantFiles(t, env.Root, map[string]string{
			SubUIDPath:                files[SubUIDPath] + "bob:900000:65536\n",
			SubGIDPath:                files[SubGIDPath] + "bob:900000:65536\n",
			"/etc/docker/daemon.json": files["/etc/docker/daemon.json"],
		})
	})
	t.Run("leftover backup", func(t *testing.T) {
		files := baseHost()
		files[SubUIDPath+hostfs.BackupSuffix] = "stale:1:1\n"
		env := testEnv(t, hostfstest.Tree(t, files))
		if _, err := Enable(ctx, env, EnableOptions{Spec: "agent"}); err != nil {
			t.Fatal(err)
		}
		if _, err := Disable(ctx, env, DisableOptions{RemoveRanges: true}); err != nil {
			t.Fatal(err)
		}
		wantFiles(t, env.Root, map[string]string{SubUIDPath: files[SubUIDPath], SubGIDPath: files[SubGIDPath]})
	})
	t.Run("edited between enable and a wider enable", func(t *testing.T) {
		files := baseHost()
		env := testEnv(t, hostfstest.Tree(t, files))
		if _, err := Enable(ctx, env, EnableOptions{Spec: "agent"}); err != nil {
			t.Fatal(err)
		}
		appendTo(t, env.Root, "bob:900000:65536\n", SubUIDPath, SubGIDPath)
		if _, err := Enable(ctx, env, EnableOptions{Spec: "agent", Size: 131072}); err != nil {
			t.Fatal(err)
		}
		if _, err := Disable(ctx, env, DisableOptions{RemoveRanges: true}); err != nil {
			t.Fatal(err)
		}
		wantFiles(t, env.Root, map[string]string{
			SubUIDPath: files[SubUIDPath] + "bob:900000:65536\n",
			SubGIDPath: files[SubGIDPath] + "bob:900000:65536\n",
		})
	})
}

// TestDisableGivesBackRangesForceRemoved (issue 12, case 4): ranges the
// operator wrote for the remap user, which enable --force replaced, come
// back with disable --remove-ranges.
func TestDisableGivesBackRangesForceRemoved(t *testing.T) {
	ctx := context.Background()
	files := baseHost()
	files[SubUIDPath] = "alice:100000:65536\nagent:300000:1000\n"
	files[SubGIDPath] = "alice:100000:65536\nagent:300000:1000\n"
	env := testEnv(t, hostfstest.Tree(t, files))
	if _, err := Enable(ctx, env, EnableOptions{Spec: "agent", Force: true}); err != nil {
		t.Fatal(err)
	}
	// Someone edits the file meanwhile: the backup cannot simply come back.
	appendTo(t, env.Root, "bob:900000:65536\n", SubUIDPath, SubGIDPath)
	if _, err := Disable(ctx, env, DisableOptions{RemoveRanges: true}); err != nil {
		t.Fatal(err)
	}
	// A line put back goes at the end: dockerd only cares about the order
	// of one user's lines, and agent has no other line left. (Whether
	// --force removes it at all is the planner's choice.)
	for _, p := range []string{SubUIDPath, SubGIDPath} {
		got, _ := env.Root.ReadFile(p)
		if want := files[p] + "bob:900000:65536\n"; !sameLines(string(got), want) {
			t.Errorf("%s:\n%s\nwant the lines of:\n%s", p, got, want)
		}
	}
	wantFiles(t, env.Root, map[string]string{"/etc/docker/daemon.json": files["/etc/docker/daemon.json"]})
}

// sameLines compares two files' lines in any order.
func sameLines(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	slices.Sort(la)
	slices.Sort(lb)
	return slices.Equal(la, lb)
}

// TestDisableTurnsOffRemappingSetBeforeEnable (issue 12, case 5): when
// daemon.json remapped to alice before enable --force agent, restoring it
// would keep remapping on, and disable could never pass its verification.
// disable turns remapping off: the original without the key, and it says
// which value it removed.
func TestDisableTurnsOffRemappingSetBeforeEnable(t *testing.T) {
	ctx := context.Background()
	files := baseHost()
	files["/etc/docker/daemon.json"] = "{\n  \"log-level\": \"warn\",\n  \"userns-remap\": \"alice\"\n}\n"
	env := testEnv(t, hostfstest.Tree(t, files))
	if _, err := Enable(ctx, env, EnableOptions{Spec: "agent", Force: true}); err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	env.Progress = &progress
	if _, err := Disable(ctx, env, DisableOptions{}); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, env.Root, map[string]string{"/etc/docker/daemon.json": "{\n  \"log-level\": \"warn\"\n}\n"})
	if !strings.Contains(progress.String(), `"alice"`) {
		t.Errorf("disable did not say it removed alice's setting: %q", progress.String())
	}
}

// TestDisableRemoveRangesPutsBackRecordedRemovals (issue 12, case 4, the
// disable side, whatever the planner removes): ranges the record says
// enable --force removed come back, on a file edited since.
func TestDisableRemoveRangesPutsBackRecordedRemovals(t *testing.T) {
	ours := "agent:999:1\nagent:165536:65535\n"
	files := baseHost()
	files[SubUIDPath] += ours + "bob:900000:65536\n"
	files[SubGIDPath] += ours + "bob:900000:65536\n"
	files["/etc/docker/daemon.json"] = "{\"userns-remap\": \"agent\"}\n"
	env := testEnv(t, hostfstest.Tree(t, files))
	added := []subid.Range{{Owner: "agent", Start: 999, Count: 1}, {Owner: "agent", Start: 165536, Count: 65535}}
	removed := []subid.Range{{Owner: "agent", Start: 300000, Count: 1000}}
	st := &hostchange.State{Remap: "agent", DaemonJSON: "/etc/docker/daemon.json",
		AddedUID: added, AddedGID: added, RemovedUID: removed, RemovedGID: removed}
	if err := st.Save(env.Root); err != nil {
		t.Fatal(err)
	}
	if _, err := Disable(context.Background(), env, DisableOptions{RemoveRanges: true}); err != nil {
		t.Fatal(err)
	}
	want := "alice:100000:65536\nbob:900000:65536\nagent:300000:1000\n"
	wantFiles(t, env.Root, map[string]string{SubUIDPath: want, SubGIDPath: want, "/etc/docker/daemon.json": "{}\n"})
}

// TestDisableUndoesEnableKilledBeforeItsRecord (issue 12, case 15): enable
// killed after writing the files but before its state record: a later
// disable --remove-ranges still finds what enable meant to write and
// undoes all of it.
func TestDisableUndoesEnableKilledBeforeItsRecord(t *testing.T) {
	ctx := context.Background()
	files := baseHost()
	env := testEnv(t, hostfstest.Tree(t, files))
	killed := errors.New("killed")
	env.stepHooks = &stepHooks{afterWrite: func(hostfs.Root) { panic(killed) }}
	func() {
		defer func() {
			if r := recover(); r != killed {
				t.Fatalf("enable was not killed after its writes: %v", r)
			}
		}()
		Enable(ctx, env, EnableOptions{Spec: "agent"})
	}()
	env.stepHooks = nil
	if daemonJSON, _ := env.Root.ReadFile("/etc/docker/daemon.json"); !strings.Contains(string(daemonJSON), "userns-remap") {
		t.Fatalf("the killed enable wrote no daemon.json:\n%s", daemonJSON)
	}
	if _, err := Disable(ctx, env, DisableOptions{RemoveRanges: true}); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, env.Root, map[string]string{
		SubUIDPath:                files[SubUIDPath],
		SubGIDPath:                files[SubGIDPath],
		"/etc/docker/daemon.json": files["/etc/docker/daemon.json"],
	})
}
