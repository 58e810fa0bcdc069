package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon/daemontest"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// TestRestarterLeavesATreeAlone (red team case 3): a tree whose pidfile
// names a live dockerd of this machine, with /proc linked to this
// machine's: every strategy resolves to none there, Restart signals
// nothing, and neither the pid nor the manager is looked for.
func TestRestarterLeavesATreeAlone(t *testing.T) {
	dockerd := daemontest.StartLive(t)
	dir := hostfstest.Tree(t, map[string]string{DefaultPidfile: dockerd.Pidfile()})
	if err := os.Symlink("/proc", filepath.Join(dir, "proc")); err != nil {
		t.Fatal(err)
	}
	tree, err := hostfs.OpenTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Strategies {
		r := Restarter{Strategy: s, Root: tree, Pidfile: DefaultPidfile}
		if got := r.Resolve(); got != StrategyNone {
			t.Errorf("--restart %s under a tree resolves to %s", s, got)
		}
		if err := r.Restart(context.Background()); err != nil {
			t.Errorf("--restart %s under a tree: %v", s, err)
		}
		if m := r.Manager(context.Background()); m.Kind != ManagerNotLooked {
			t.Errorf("manager under a tree: %+v", m)
		}
		if _, err := r.DaemonPID(); err == nil {
			t.Errorf("the tree's pidfile was taken for this machine's pid")
		}
	}
	if !dockerd.Alive() {
		t.Fatalf("this machine's dockerd (pid %d) was signalled", dockerd.PID())
	}
}

// TestDaemonPIDDoesNotBlockOnAFIFO (red team case 4): a FIFO at the
// pidfile of a root that is a live host is an error at once, not a hang.
func TestDaemonPIDDoesNotBlockOnAFIFO(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/var/run/.keep": ""})
	if err := syscall.Mkfifo(filepath.Join(dir, DefaultPidfile), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := Restarter{Strategy: StrategySignal, Root: root, Pidfile: DefaultPidfile}
	done := make(chan error, 1)
	go func() { _, err := r.DaemonPID(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO gave a pid")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DaemonPID still blocked on the FIFO after 10 s")
	}
}

// checkConfigDockerd is a static program put at /usr/bin/dockerd: it says
// whether the --config-file it is given is there, as it sees it.
const checkConfigDockerd = `package main

import (
	"fmt"
	"os"
)

func main() {
	if _, err := os.Stat(os.Args[len(os.Args)-1]); err != nil {
		fmt.Println("config missing")
	} else {
		fmt.Println("config present")
	}
	os.Exit(1)
}
`

// TestValidateConfigTempFileInsideRoot (red team case 1): the config to
// validate is written inside the root even when its /run is an absolute
// link, and the chrooted dockerd finds it there; before, it was made by
// following the link out of the root.
func TestValidateConfigTempFileInsideRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: dockerd --validate runs chrooted")
	}
	outside := t.TempDir()
	dir := hostfstest.Tree(t, map[string]string{filepath.Join(outside, ".keep"): ""})
	if err := os.Symlink(outside, filepath.Join(dir, "run")); err != nil {
		t.Fatal(err)
	}
	daemontest.Build(t, filepath.Join(dir, "usr/bin/dockerd"), checkConfigDockerd)
	root, err := hostfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateConfig(context.Background(), root, []byte("{}\n"))
	if !errors.Is(err, ErrConfigRefused) || !strings.Contains(err.Error(), "config present") {
		t.Errorf("want the chrooted dockerd to find its config inside the root, got %v", err)
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Errorf("files left outside the root: %v", left)
	}
}
