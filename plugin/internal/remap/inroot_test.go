package remap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// TestEnableThroughAbsoluteSymlinkInRoot (issue 12, case 6): daemon.json
// as configuration management leaves it, an absolute symlink, is read and
// written at its target inside the root (the host mounted at /host through
// the daemon): the diff adds the key only, and enable writes it.
func TestEnableThroughAbsoluteSymlinkInRoot(t *testing.T) {
	files := baseHost()
	files["/srv/cm/daemon.json"] = files["/etc/docker/daemon.json"]
	delete(files, "/etc/docker/daemon.json")
	dir := hostfstest.Tree(t, files)
	os.MkdirAll(filepath.Join(dir, "etc/docker"), 0o755)
	if err := os.Symlink("/srv/cm/daemon.json", filepath.Join(dir, "etc/docker/daemon.json")); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, dir)
	out, err := Enable(context.Background(), env, EnableOptions{Spec: "agent", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.Diff, "--- /dev/null") || !strings.Contains(out.Diff, `+  "userns-remap": "agent"`) {
		t.Errorf("dry run through the link:\n%s", out.Diff)
	}
	if _, err := Enable(context.Background(), env, EnableOptions{Spec: "agent"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "srv/cm/daemon.json"))
	if string(got) != "{\n  \"log-level\": \"warn\",\n  \"userns-remap\": \"agent\"\n}\n" {
		t.Errorf("target after enable:\n%s", got)
	}
}
