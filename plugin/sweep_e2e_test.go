package main_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// TestEveryCommandSweepsWhatADeadClientLeft: a helper container that a
// killed client left (made two hours ago by its label) is removed by the
// next command, as a plugin under the docker CLI and run standalone, and
// the command says so after its own output; one made a minute ago (a run
// in progress) stays, and so does one that runs, however old. The sweep
// runs beside the command (issue 16 row f), so this proves it still runs
// to its end.
func TestEveryCommandSweepsWhatADeadClientLeft(t *testing.T) {
	d, ctx := startHost(t, newest(t))
	importBusybox(t, d)
	leave := func(ago time.Duration) string {
		created := strconv.FormatInt(time.Now().Add(-ago).Unix(), 10)
		return d.MustExec(t, "docker", "create", "--label", sweep.LabelRole+"=helper", "--label", sweep.LabelCreated+"="+created, "busybox:latest", "true")
	}
	exists := func(id string) bool {
		res, err := d.Exec(ctx, "docker", "inspect", id)
		return err == nil && res.ExitCode == 0
	}
	current := leave(time.Minute)
	// Running, made two hours ago by a client the sweep cannot ask (no
	// owner label): a long volume carry's (issue 23 case 8).
	running := d.MustExec(t, "docker", "run", "-d", "--label", sweep.LabelRole+"=helper", "--label", sweep.LabelCreated+"="+strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10), "busybox:latest", "sleep", "600")
	for _, run := range [][]string{
		{"docker", "userns", "status"},
		{harness.PluginPath, "status"},
	} {
		left := leave(2 * time.Hour)
		res, err := d.Exec(context.Background(), run...)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%s: exit %d, %v\n%s%s", strings.Join(run, " "), res.ExitCode, err, res.Stdout, res.Stderr)
		}
		if exists(left) {
			t.Errorf("%s: the dead client's container %.12s is still there", strings.Join(run, " "), left)
		}
		if !strings.Contains(res.Stderr, "removed container") || !strings.Contains(res.Stderr, "left by a docker userns client that died") {
			t.Errorf("%s does not say what it swept:\n%s", strings.Join(run, " "), res.Stderr)
		}
		if !strings.Contains(res.Stdout, "Daemon:") {
			t.Errorf("%s printed no status:\n%s", strings.Join(run, " "), res.Stdout)
		}
	}
	if !exists(current) {
		t.Errorf("the container of a run in progress (%.12s) was swept", current)
	}
	if !exists(running) {
		t.Errorf("a running container of ours (%.12s) was swept", running)
	}
}
