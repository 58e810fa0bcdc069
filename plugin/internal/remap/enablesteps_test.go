package remap

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
)

// newEnableRun is an enable of spec on a test host, its files read as
// Enable reads them.
func newEnableRun(t *testing.T, files map[string]string, opts EnableOptions) *enableRun {
	t.Helper()
	env := testEnv(t, hostfstest.Tree(t, files))
	e := &enableRun{opts: opts, env: env, checks: env.forChecks(), out: Outcome{Action: "enable"}}
	if err := e.parseOptions(); err != nil {
		t.Fatal(err)
	}
	snap, err := ReadSnapshot(env.Root)
	if err != nil {
		t.Fatal(err)
	}
	e.snap = snap
	return e
}

func TestEnableParseOptions(t *testing.T) {
	for _, c := range []struct {
		opts   EnableOptions
		layout rangeplan.Layout
		err    string
	}{
		{EnableOptions{Spec: "agent"}, "", ""},
		{EnableOptions{Spec: "default"}, rangeplan.Isolated, ""},
		{EnableOptions{Spec: "agent", Layout: "contiguous"}, rangeplan.Contiguous, ""},
		{EnableOptions{Spec: "agent", Layout: "sideways"}, "", "sideways"},
		{EnableOptions{Spec: "agent", DockerVersion: "28.5.2"}, "", "--docker-version 28.5.2 goes with --root DIR"},
		{EnableOptions{Spec: ""}, "", "remap"},
	} {
		env := testEnv(t, hostfstest.Tree(t, baseHost()))
		e := &enableRun{opts: c.opts, env: env}
		err := e.parseOptions()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%+v: %v", c.opts, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%+v: got %v, want an error naming %q", c.opts, err, c.err)
		case c.err == "" && e.layout != c.layout:
			t.Errorf("%+v: layout %q, want %q", c.opts, e.layout, c.layout)
		}
	}
}

// TestEnableCheckSetting: another userns-remap value is refused without
// --force; daemon.json's new content is made once, here.
func TestEnableCheckSetting(t *testing.T) {
	files := baseHost()
	files["/etc/docker/daemon.json"] = `{"userns-remap": "alice"}` + "\n"
	e := newEnableRun(t, files, EnableOptions{Spec: "agent"})
	if err := e.checkSetting(); err == nil || !strings.Contains(err.Error(), `already sets userns-remap to "alice"`) {
		t.Errorf("another value without --force: got %v", err)
	}
	e = newEnableRun(t, files, EnableOptions{Spec: "agent", Force: true})
	if err := e.checkSetting(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.newJSON), `"userns-remap": "agent"`) {
		t.Errorf("new daemon.json:\n%s", e.newJSON)
	}
}

// TestEnablePlanChangeUsesTheCheckedJSON: the files' new contents carry
// the daemon.json checkSetting made (and dockerd --validate checked).
func TestEnablePlanChangeUsesTheCheckedJSON(t *testing.T) {
	e := newEnableRun(t, baseHost(), EnableOptions{Spec: "agent"})
	ctx := context.Background()
	for _, step := range []func(context.Context) error{func(context.Context) error { return e.checkSetting() }, e.resolveUser, e.askDaemon, e.planChange} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var found bool
	for _, c := range e.changes {
		if c.Path == e.snap.DaemonJSON.Path() {
			found = string(c.New) == string(e.newJSON)
		}
	}
	if !found || e.out.Plan == nil || e.already() {
		t.Errorf("changes %v, plan %v, already %v: want daemon.json as checked, a plan, and a change to make", e.changes, e.out.Plan, e.already())
	}
}
