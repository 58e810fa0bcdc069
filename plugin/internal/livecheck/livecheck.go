// Package livecheck runs `docker userns test`: live checks against the
// daemon the CLI points at, compared with what the host files predict, with
// probe containers and images built on the spot and removed afterwards.
//
// The host part (the host files, the temporary bind-mount directories and
// the root-only file) is done where this runs: on the daemon's host, or in a
// helper container that mounts it (Env.HostRoot). Where the host's files
// cannot be reached at all (Env.NoHostFiles, a rootless daemon), the checks
// that need them are reported as such, not failed, and the run is
// incomplete.
package livecheck

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// Names of the checks, in the order they run.
const (
	CheckRemapping   = "remapping on"
	CheckIDMap       = "id map matches host files"
	CheckBindOwner   = "bind mount owner"
	CheckRootOnly    = "root-only file unreadable"
	CheckUIDBoundary = "uid range boundary"
)

// Check is one observation compared with its expectation; the checks of
// a change's verification are the same type.
type Check = verify.Check

// Statuses of a check.
const (
	StatusPass = verify.VerdictPass
	StatusFail = verify.VerdictFail
	StatusSkip = verify.VerdictSkip
)

// Report is every check run against one daemon.
type Report struct {
	// Daemon is the daemon's version.
	Daemon string  `json:"daemon"`
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
	// Failed names the checks that did not pass.
	Failed []string `json:"failed,omitempty"`
	// Incomplete names the checks that needed the host's files, which
	// could not be reached (HostFilesError says why): the run is incomplete.
	Incomplete     []string `json:"incomplete,omitempty"`
	HostFilesError string   `json:"hostFilesError,omitempty"`
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
	// TempDir is where temporary bind-mount directories are made, as a path
	// on the daemon's host. Empty means os.TempDir() (/tmp under HostRoot).
	TempDir string
	// HostRoot is where the daemon's host root is mounted here: "" when
	// this process runs on that host, helper.HostMount in a helper
	// container. Temporary directories are made under it and bind-mounted
	// by their path on the host.
	HostRoot string
	// NoHostFiles says why the host's files cannot be reached at all (the
	// daemon would not start the helper container): the checks that need
	// them are skipped with this reason. "" when they can.
	NoHostFiles string
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
	r.report.HostFilesError = noHostFiles(env, state)
	if r.report.HostFilesError != "" {
		// Nothing to expect from.
	} else if exp, err := Expect(env.Root, state.Version); err != nil {
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
	r.report.OK = len(r.report.Failed) == 0 && len(r.report.Incomplete) == 0 && len(r.report.Leftovers) == 0
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
	c.Seconds = time.Since(start).Seconds()
	switch {
	case c.Skipped:
		c.Status = StatusSkip
		r.report.Incomplete = append(r.report.Incomplete, name)
	case c.OK:
		c.Status = StatusPass
	default:
		c.Status = StatusFail
		r.report.Failed = append(r.report.Failed, name)
	}
	r.report.Checks = append(r.report.Checks, c)
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

// hostDir is a temporary directory on the daemon's host: path is where
// this process reaches it, onHost where the daemon does (a bind source).
type hostDir struct{ path, onHost string }

func (r *runner) tempDir(pattern string, mode os.FileMode) (hostDir, error) {
	parent := r.env.TempDir
	if r.env.HostRoot != "" {
		// os.TempDir() would be the helper container's own.
		parent = filepath.Join(r.env.HostRoot, cmp.Or(parent, "/tmp"))
	}
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return hostDir{}, fmt.Errorf("make temporary directory: %w", err)
	}
	// MkdirTemp makes 0700; the remapped container root is not host root.
	if err := os.Chmod(dir, mode); err != nil {
		os.RemoveAll(dir)
		return hostDir{}, fmt.Errorf("make temporary directory: %w", err)
	}
	d := hostDir{path: dir, onHost: dir}
	if r.env.HostRoot != "" {
		rel, err := filepath.Rel(r.env.HostRoot, dir)
		if err != nil {
			os.RemoveAll(dir)
			return hostDir{}, fmt.Errorf("make temporary directory: %w", err)
		}
		d.onHost = "/" + rel
	}
	return d, nil
}

// inHostDir runs check with a temporary directory on the daemon's host,
// removed afterwards. Without the host's files the check needs them, and
// a directory that cannot be made fails it (against expected).
func (r *runner) inHostDir(expected, pattern string, mode os.FileMode, check func(hostDir) Check) Check {
	if r.report.HostFilesError != "" {
		return r.needsHost(expected)
	}
	dir, err := r.tempDir(pattern, mode)
	if err != nil {
		return failed(expected, err)
	}
	defer r.removeDir(dir)
	return check(dir)
}

func (r *runner) removeDir(dir hostDir) {
	if err := os.RemoveAll(dir.path); err != nil {
		r.cleanup(fmt.Errorf("remove temporary directory %s: %w", dir.onHost, err))
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

// noHostFiles says why the host's files cannot be reached, or "": the
// caller's reason, or a rootless daemon, whose containers' ids map through
// its own user namespace (rootlesskit), not through userns-remap and the
// host's /etc files. moby lists "name=rootless" among its security options
// then (daemon/info.go, fillSecurityOptions, 20.10 to 28.5).
func noHostFiles(env Env, state daemon.State) string {
	if env.NoHostFiles != "" {
		return env.NoHostFiles
	}
	if slices.Contains(state.SecurityOptions, "name=rootless") {
		return "the daemon runs rootless: its ids map through its own user namespace, not through the host's userns-remap files"
	}
	return ""
}

// needsHost is a check skipped for want of the host's files.
func (r *runner) needsHost(expected string) Check {
	return Check{Expected: expected, Observed: "needs the host's files: " + r.report.HostFilesError, Skipped: true}
}

// failed is a check that could not observe anything.
func failed(expected string, err error) Check {
	return Check{Expected: expected, Observed: err.Error()}
}
