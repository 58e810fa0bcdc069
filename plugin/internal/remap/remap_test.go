package remap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// fakeDaemon answers Info like an unremapped daemon; any other call panics
// (the embedded nil interface), which proves a code path never reached it.
type fakeDaemon struct {
	client.APIClient
	info system.Info
}

func (f fakeDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: f.info}, nil
}

// baseHost is a host with the CI user agent (999), a normal user alice
// (1000) with useradd's range, and a daemon.json with another key.
func baseHost() map[string]string {
	return map[string]string{
		"/etc/passwd":             "root:x:0:0:root:/root:/bin/bash\nagent:x:999:999::/home/agent:/usr/sbin/nologin\nalice:x:1000:1000::/home/alice:/bin/bash\n",
		"/etc/group":              "root:x:0:\nagent:x:999:\nalice:x:1000:\n",
		"/etc/subuid":             "alice:100000:65536\n",
		"/etc/subgid":             "alice:100000:65536\n",
		"/etc/docker/daemon.json": "{\n  \"log-level\": \"warn\"\n}\n",
	}
}

func testEnv(t *testing.T, dir string) Env {
	t.Helper()
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Env{
		Root:      root,
		API:       fakeDaemon{info: system.Info{ServerVersion: "test", DockerRootDir: "/var/lib/docker"}},
		Restarter: daemon.Restarter{Strategy: daemon.StrategyNone, Root: root, Pidfile: daemon.DefaultPidfile},
		Timeout:   time.Second,
	}
}

func TestEnableBadInputChangesNothing(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		opts    EnableOptions
		wantErr string
	}{
		{"unknown user", nil, EnableOptions{Spec: "nobody-here"}, "no such user"},
		{"root", nil, EnableOptions{Spec: "root"}, "root"},
		{"uid 0", nil, EnableOptions{Spec: "0"}, "0"},
		{"three parts", nil, EnableOptions{Spec: "a:b:c"}, `"a:b:c"`},
		{"empty group", nil, EnableOptions{Spec: "agent:"}, `"agent:"`},
		{"daemon.json not JSON", map[string]string{"/etc/docker/daemon.json": "{\n  \"debug\": true,\n}\n"}, EnableOptions{Spec: "agent"}, "/etc/docker/daemon.json:3:"},
		{"daemon.json not an object", map[string]string{"/etc/docker/daemon.json": "[]\n"}, EnableOptions{Spec: "agent"}, "not a JSON object"},
		{"other user already set", map[string]string{"/etc/docker/daemon.json": "{\"userns-remap\": \"alice\"}\n"}, EnableOptions{Spec: "agent"}, `already sets userns-remap to "alice"`},
		{"dockerd flag", map[string]string{"/etc/systemd/system/docker.service.d/remap.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --userns-remap=agent\n"}, EnableOptions{Spec: "agent"}, "remap.conf:3"},
		{"malformed subuid", map[string]string{"/etc/subuid": "alice:100000:65536\nbob:x:1\n"}, EnableOptions{Spec: "agent"}, "/etc/subuid:2:"},
		{"unknown layout", nil, EnableOptions{Spec: "agent", Layout: "diagonal"}, `"diagonal"`},
		{"contiguous over alice", nil, EnableOptions{Spec: "agent", Layout: "contiguous"}, "alice"},
		{"no free range", map[string]string{"/etc/subuid": "alice:100000:4294867294\n"}, EnableOptions{Spec: "agent"}, "no free range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := baseHost()
			for p, c := range tc.files {
				files[p] = c
			}
			dir := hostfstest.Tree(t, files)
			before := hostfstest.Snapshot(t, dir)
			_, err := Enable(context.Background(), testEnv(t, dir), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			hostfstest.Unchanged(t, dir, before)
		})
	}
}

func TestEnableDryRunPrintsDiffAndChangesNothing(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	before := hostfstest.Snapshot(t, dir)
	out, err := Enable(context.Background(), testEnv(t, dir), EnableOptions{Spec: "agent", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+agent:999:1", "+agent:165536:65535", `+  "userns-remap": "agent"`, "--- /etc/docker/daemon.json"} {
		if !strings.Contains(out.Diff, want) {
			t.Errorf("dry-run diff lacks %q:\n%s", want, out.Diff)
		}
	}
	hostfstest.Unchanged(t, dir, before)
}

// TestEnableWritesOwnerLayoutAndIsIdempotent runs enable with --restart none
// twice: the second run plans nothing, and disable restores every byte.
func TestEnableWritesOwnerLayoutAndIsIdempotent(t *testing.T) {
	files := baseHost()
	dir := hostfstest.Tree(t, files)
	env := testEnv(t, dir)
	out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != FilesChanged || len(out.Files) != 3 {
		t.Fatalf("first enable: %+v", out)
	}
	subuid, _ := env.Root.ReadFile(SubUIDPath)
	if string(subuid) != "alice:100000:65536\nagent:999:1\nagent:165536:65535\n" {
		t.Errorf("subuid after enable:\n%s", subuid)
	}
	daemonJSON, _ := env.Root.ReadFile("/etc/docker/daemon.json")
	if string(daemonJSON) != "{\n  \"log-level\": \"warn\",\n  \"userns-remap\": \"agent\"\n}\n" {
		t.Errorf("daemon.json after enable:\n%s", daemonJSON)
	}
	again, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: true})
	if err != nil || len(again.Files) != 0 {
		t.Errorf("second enable would change %v (err %v)", again.Files, err)
	}
	if _, err := Disable(context.Background(), env, DisableOptions{RemoveRanges: true}); err != nil {
		t.Fatal(err)
	}
	// Content, not inodes: disable writes the original bytes back.
	for p := range files {
		got, _ := env.Root.ReadFile(p)
		if string(got) != files[p] {
			t.Errorf("%s after disable:\n%s\nwant:\n%s", p, got, files[p])
		}
	}
	for _, leftover := range []string{"/etc/subuid.docker-userns.bak", "/etc/subgid.docker-userns.bak", "/etc/docker/daemon.json.docker-userns.bak", "/var/lib/docker-userns/state.json"} {
		if env.Root.Exists(leftover) {
			t.Errorf("%s left behind after disable", leftover)
		}
	}
}

// TestDisableRemovesDaemonJSONThatEnableCreated: no daemon.json before
// enable means none after disable, and no backup left behind.
func TestDisableRemovesDaemonJSONThatEnableCreated(t *testing.T) {
	files := baseHost()
	delete(files, "/etc/docker/daemon.json")
	dir := hostfstest.Tree(t, files)
	env := testEnv(t, dir)
	if _, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"}); err != nil {
		t.Fatal(err)
	}
	if !env.Root.Exists("/etc/docker/daemon.json") {
		t.Fatal("enable did not create daemon.json")
	}
	out, err := Disable(context.Background(), env, DisableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"/etc/docker/daemon.json", "/etc/docker/daemon.json.docker-userns.bak"} {
		if env.Root.Exists(gone) {
			t.Errorf("%s still there after disable (%+v)", gone, out)
		}
	}
	// Ranges stay without --remove-ranges, and their record with them.
	if subuid, _ := env.Root.ReadFile(SubUIDPath); !strings.Contains(string(subuid), "agent:999:1") {
		t.Errorf("disable without --remove-ranges removed ranges:\n%s", subuid)
	}
	if !env.Root.Exists("/var/lib/docker-userns/state.json") {
		t.Error("state record gone while ranges enable added remain")
	}
}

// TestEnableWiderReplacesOwnRanges: after enable and disable, a wider
// enable replaces the ranges enable itself added, without --force; ranges
// the operator wrote stay, and a free range after them widens the map.
func TestEnableWiderReplacesOwnRanges(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	if _, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Disable(context.Background(), env, DisableOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", Size: 131072})
	if err != nil {
		t.Fatalf("wider enable over our own ranges: %v", err)
	}
	if got := out.Plan.UID.Size; got != 131072 {
		t.Errorf("planned %d uids, want 131072", got)
	}
	subuid, _ := env.Root.ReadFile(SubUIDPath)
	if strings.Contains(string(subuid), ":65535\n") {
		t.Errorf("old narrow range still there:\n%s", subuid)
	}

	hostfstest.Write(t, dir, map[string]string{"/etc/subuid": "alice:100000:65536\nagent:999:1\nagent:300000:1000\n"})
	if _, err := Disable(context.Background(), env, DisableOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err = Enable(context.Background(), env, EnableOptions{Spec: "agent"})
	if err != nil {
		t.Fatalf("enable over the operator's narrow ranges: %v", err)
	}
	subuid, _ = env.Root.ReadFile(SubUIDPath)
	if !strings.HasPrefix(string(subuid), "alice:100000:65536\nagent:999:1\nagent:300000:1000\nagent:") {
		t.Errorf("the operator's lines moved or went:\n%s", subuid)
	}
	if got := out.Plan.UID.Map.String(); !strings.HasPrefix(got, "0 999 1, 1 300000 1000, 1001 ") || out.Plan.UID.Size != 65536 {
		t.Errorf("uid map %s (%d ids), want the operator's lines first, widened to 65536", got, out.Plan.UID.Size)
	}
}

// TestEnableRefusesUnreachableDataRoot: a 0700 parent of the data root
// would keep the remapped daemon from starting; enable says so first, and
// so does its dry run (before, the dry run said "would change" and only the
// real run refused: the Ansible role's check mode promised a change that
// could not happen).
func TestEnableRefusesUnreachableDataRoot(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	if err := os.MkdirAll(filepath.Join(dir, "srv/private/docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "srv/private"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, dir)
	env.API = fakeDaemon{info: system.Info{ServerVersion: "test", DockerRootDir: "/srv/private/docker"}}
	before := hostfstest.Snapshot(t, dir)
	for _, dry := range []bool{true, false} {
		_, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: dry})
		if err == nil || !strings.Contains(err.Error(), "/srv/private (-rwx------)") || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("dry run %v: want a refusal naming /srv/private and --force, got %v", dry, err)
		}
	}
	hostfstest.Unchanged(t, dir, before)
}

func TestSnapshotSettingFlagWinsOverDaemonJSON(t *testing.T) {
	files := baseHost()
	root, _ := hostfs.Open(hostfstest.Tree(t, files))
	snap, err := ReadSnapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	if value, _, err := snap.Setting(); err != nil || value != "" {
		t.Errorf("no setting: got %q, %v", value, err)
	}

	files["/etc/docker/daemon.json"] = "{\"userns-remap\": \"agent\"}\n"
	root, _ = hostfs.Open(hostfstest.Tree(t, files))
	snap, _ = ReadSnapshot(root)
	if value, source, _ := snap.Setting(); value != "agent" || source != "/etc/docker/daemon.json" {
		t.Errorf("daemon.json setting: got %q from %q", value, source)
	}

	files["/etc/systemd/system/docker.service.d/remap.conf"] = "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --userns-remap=alice\n"
	root, _ = hostfs.Open(hostfstest.Tree(t, files))
	snap, _ = ReadSnapshot(root)
	if value, source, _ := snap.Setting(); value != "alice" || !strings.Contains(source, "remap.conf:3") {
		t.Errorf("flag setting: got %q from %q", value, source)
	}
}

// TestOutcomeChanged: Changed says whether a run changed the host, and in
// a dry run whether a run would. Files already written with the daemon not
// yet remapped (--restart none) would still change: a run restarts it.
func TestOutcomeChanged(t *testing.T) {
	dir := hostfstest.Tree(t, baseHost())
	env := testEnv(t, dir)
	remapped := env
	remapped.API = fakeDaemon{info: system.Info{ServerVersion: "test", DockerRootDir: "/var/lib/docker/999.999", SecurityOptions: []string{"name=userns"}}}
	steps := []struct {
		name        string
		run         func() (Outcome, error)
		wantResult  Result
		wantChanged bool
	}{
		{"dry-run enable, fresh host", func() (Outcome, error) { return Enable(t.Context(), env, EnableOptions{Spec: "agent", DryRun: true}) }, DryRun, true},
		{"enable", func() (Outcome, error) { return Enable(t.Context(), env, EnableOptions{Spec: "agent"}) }, FilesChanged, true},
		{"dry-run enable, files written, daemon not remapped", func() (Outcome, error) {
			return Enable(t.Context(), env, EnableOptions{Spec: "agent", DryRun: true})
		}, DryRun, true},
		{"dry-run enable, daemon remapped", func() (Outcome, error) {
			return Enable(t.Context(), remapped, EnableOptions{Spec: "agent", DryRun: true})
		}, DryRun, false},
		{"enable, daemon remapped", func() (Outcome, error) { return Enable(t.Context(), remapped, EnableOptions{Spec: "agent"}) }, AlreadyEnabled, false},
		{"dry-run disable, daemon remapped", func() (Outcome, error) {
			return Disable(t.Context(), remapped, DisableOptions{DryRun: true})
		}, DryRun, true},
		{"disable", func() (Outcome, error) { return Disable(t.Context(), env, DisableOptions{}) }, FilesChanged, true},
		{"dry-run disable, daemon not remapped", func() (Outcome, error) { return Disable(t.Context(), env, DisableOptions{DryRun: true}) }, DryRun, false},
		{"disable, daemon not remapped", func() (Outcome, error) { return Disable(t.Context(), env, DisableOptions{}) }, AlreadyDisabled, false},
	}
	for _, s := range steps {
		out, err := s.run()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if out.Result != s.wantResult || out.Changed != s.wantChanged {
			t.Errorf("%s: result %q changed %v, want %q changed %v", s.name, out.Result, out.Changed, s.wantResult, s.wantChanged)
		}
	}
}
