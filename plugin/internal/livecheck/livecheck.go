// Package livecheck runs `docker userns test`: live checks against the
// daemon the CLI points at, compared with what the host files predict, with
// probe containers and images built on the spot and removed afterwards.
//
// The bind-mount checks make temporary directories on the machine this runs
// on, so they only mean something when the daemon runs on the same machine.
package livecheck

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Names of the checks, in the order they run.
const (
	CheckRemapping   = "remapping on"
	CheckIDMap       = "id map matches host files"
	CheckBindOwner   = "bind mount owner"
	CheckRootOnly    = "root-only file unreadable"
	CheckUIDBoundary = "uid range boundary"
)

// Check is one observation compared with its expectation.
type Check struct {
	Name     string  `json:"name"`
	OK       bool    `json:"ok"`
	Status   string  `json:"status"` // PASS or FAIL
	Expected string  `json:"expected"`
	Observed string  `json:"observed"`
	Seconds  float64 `json:"seconds"`
}

// Report is every check run against one daemon.
type Report struct {
	// Daemon is the daemon's version.
	Daemon string  `json:"daemon"`
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
	// Failed names the checks that did not pass.
	Failed []string `json:"failed,omitempty"`
	// Leftovers are what could not be removed afterwards (the report is not
	// OK then either: the promise is to leave nothing behind).
	Leftovers []string `json:"leftovers,omitempty"`
	// Expectation is what the host files predict (nil when they do not say).
	Expectation *Expectation `json:"expectation,omitempty"`
	// ExpectationError says why the host files predict nothing.
	ExpectationError string    `json:"expectationError,omitempty"`
	Started          time.Time `json:"started"`
	Seconds          float64   `json:"seconds"`
}

// Env is what the checks act on.
type Env struct {
	API client.APIClient
	// Root is where host files (daemon.json, passwd, subuid) are read.
	Root hostfs.Root
	// Binary is the static plugin binary probe images are built from.
	Binary string
	// TempDir is where temporary bind-mount directories are made; they must
	// be on the machine the daemon runs on. Empty means os.TempDir().
	TempDir string
	// Progress receives one line per finished check (nil: silent).
	Progress io.Writer
}

// Run runs every check. It returns an error only when the daemon cannot
// be asked at all; a check that cannot observe fails with the reason.
func Run(ctx context.Context, env Env) (Report, error) {
	r := &runner{env: env, report: Report{Started: time.Now()}}
	state, err := daemon.Inspect(ctx, env.API)
	if err != nil {
		return Report{}, err
	}
	r.report.Daemon = state.Version
	if exp, err := Expect(env.Root, state.Version); err != nil {
		r.report.ExpectationError = err.Error()
	} else {
		r.exp = &exp
		r.report.Expectation = &exp
	}

	r.run(CheckRemapping, func() Check { return remappingCheck(state) })
	r.withProbe(ctx)
	r.run(CheckUIDBoundary, func() Check { return r.boundaryCheck(ctx) })

	for _, err := range r.leftovers {
		r.report.Leftovers = append(r.report.Leftovers, err.Error())
	}
	r.report.OK = len(r.report.Failed) == 0 && len(r.report.Leftovers) == 0
	r.report.Seconds = time.Since(r.report.Started).Seconds()
	return r.report, nil
}

// runner collects checks and whatever could not be cleaned up.
type runner struct {
	env       Env
	exp       *Expectation
	report    Report
	leftovers []error
}

func (r *runner) run(name string, check func() Check) {
	start := time.Now()
	c := check()
	c.Name = name
	c.Status = "FAIL"
	if c.OK {
		c.Status = "PASS"
	}
	c.Seconds = time.Since(start).Seconds()
	r.report.Checks = append(r.report.Checks, c)
	if !c.OK {
		r.report.Failed = append(r.report.Failed, name)
	}
	if r.env.Progress != nil {
		fmt.Fprintf(r.env.Progress, "%s  %s: %s\n", c.Status, name, c.Observed)
	}
}

// cleanup runs a removal and keeps its error as a leftover.
func (r *runner) cleanup(err error) {
	if err != nil {
		r.leftovers = append(r.leftovers, err)
	}
}

func (r *runner) tempDir(pattern string, mode os.FileMode) (string, error) {
	dir, err := os.MkdirTemp(r.env.TempDir, pattern)
	if err != nil {
		return "", fmt.Errorf("make temporary directory: %w", err)
	}
	// MkdirTemp makes 0700; the remapped container root is not host root.
	if err := os.Chmod(dir, mode); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("make temporary directory: %w", err)
	}
	return dir, nil
}

func (r *runner) removeDir(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		r.cleanup(fmt.Errorf("remove temporary directory %s: %w", dir, err))
	}
}

func remappingCheck(state daemon.State) Check {
	c := Check{Expected: "name=userns in docker info SecurityOptions", OK: state.Remapped}
	if state.Remapped {
		c.Observed = "name=userns listed: the daemon remaps"
	} else {
		c.Observed = fmt.Sprintf("not listed (SecurityOptions %v): the daemon does not remap", state.SecurityOptions)
	}
	return c
}

// failed is a check that could not observe anything.
func failed(expected string, err error) Check {
	return Check{Expected: expected, Observed: err.Error()}
}
