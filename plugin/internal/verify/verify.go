// Package verify checks through the daemon's API, never its config, that
// remapping is in the state a command promised: the daemon's own answer,
// its data root, and the id map a real container gets.
package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/steptrace"
)

// Expectation is the state the daemon should be in.
type Expectation struct {
	Remapped bool
	// RootUID and RootGID are the host ids of container root (remapped only).
	RootUID, RootGID uint32
	// UIDMap and GIDMap are the maps a container should get.
	UIDMap, GIDMap idmap.Map
}

// identity is the map of a container on an unremapped daemon.
var identity = idmap.Map{{Container: 0, Host: 0, Size: 4294967295}}

// Unremapped is the expectation after `disable`.
func Unremapped() Expectation {
	return Expectation{UIDMap: identity, GIDMap: identity}
}

// Check is one observation compared with its expectation: the
// verification after a change (Daemon) and `docker userns test`
// (livecheck) both report in it.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Status is PASS, FAIL or SKIP where a report shows it (livecheck).
	Status Verdict `json:"status,omitempty"`
	// Skipped is a check that needs something that could not be reached
	// (livecheck: the host's files): neither passed nor failed.
	Skipped  bool    `json:"skipped,omitempty"`
	Expected string  `json:"expected"`
	Observed string  `json:"observed"`
	Seconds  float64 `json:"seconds,omitempty"`
}

// Verdict is a check's verdict as reports print it: a verification's, a
// live check's (SKIP when it could not run) and doctor's (WARN when it
// passes with a caveat).
type Verdict string

// The verdicts of a check.
const (
	VerdictPass Verdict = "PASS"
	VerdictWarn Verdict = "WARN"
	VerdictFail Verdict = "FAIL"
	VerdictSkip Verdict = "SKIP"
)

// Report is the list of checks; it passes when every check does.
type Report []Check

// OK is true when every check passed.
func (r Report) OK() bool {
	return !slices.ContainsFunc(r, func(c Check) bool { return !c.OK })
}

// Failed lists the checks that did not pass.
func (r Report) Failed() Report {
	var failed Report
	for _, c := range r {
		if !c.OK {
			failed = append(failed, c)
		}
	}
	return failed
}

// Result is what Daemon found.
type Result struct {
	Report Report
	// State is the daemon's own answer, asked beside the probe.
	State daemon.State
	// Remove removes the probe's container and image (never nil): the
	// caller does it meanwhile with what comes next (the confirmation),
	// and before anything restarts the daemon, whose data root would
	// otherwise keep them.
	Remove func() error
}

// Daemon compares what the daemon says, and what a probe container
// observes (made of the small probe program, or of binary), with exp. The
// API's answer and the probe are asked at once: neither waits for the
// other, and neither waits for the probe's removal. A daemon whose own
// answer fails exp (the old config's, back after a revert) stops the
// probe: what it would see no longer matters.
func Daemon(ctx context.Context, api client.APIClient, binary string, exp Expectation) (Result, error) {
	return checkDaemon(ctx, api, binary, exp, make(chan struct{}))
}

// checkDaemon is Daemon closing stop once the daemon's own answer fails
// exp (a test's daemon waits for it).
func checkDaemon(ctx context.Context, api client.APIClient, binary string, exp Expectation, stop chan struct{}) (Result, error) {
	type inspected struct {
		state daemon.State
		err   error
	}
	answer := make(chan inspected, 1)
	go func() {
		state, err := daemon.Inspect(ctx, api)
		if err == nil && !(remapCheck(state, exp).OK && dataRootCheck(state, exp).OK) {
			close(stop)
		}
		answer <- inspected{state, err}
	}()
	maps, remove, probeErr := probeMaps(ctx, api, binary, stop)
	defer steptrace.Mark(steptrace.VerifyDone)
	res := Result{Remove: remove}
	a := <-answer
	if a.err != nil {
		return res, a.err
	}
	res.State = a.state
	res.Report = Report{remapCheck(a.state, exp), dataRootCheck(a.state, exp)}
	if errors.Is(probeErr, errProbeStopped) {
		return res, nil // the daemon's own answer failed already
	}
	if probeErr != nil {
		return res, probeErr
	}
	res.Report = append(res.Report,
		mapCheck("container uid_map", exp.UIDMap, maps.UIDMap),
		mapCheck("container gid_map", exp.GIDMap, maps.GIDMap))
	return res, nil
}

// probeMaps runs a probe container and returns the id maps it got, and how
// to remove the container and its image. Once stop is closed it starts no
// container: a call is never cut short (a create cut short could leave a
// container nobody knows the ID of), the next step is not taken.
func probeMaps(ctx context.Context, api client.APIClient, binary string, stop <-chan struct{}) (probe.IDMaps, func() error, error) {
	img, err := probe.BuildSmall(ctx, api, binary)
	if err != nil {
		return probe.IDMaps{}, func() error { return nil }, err
	}
	steptrace.Mark(steptrace.VerifyImported)
	select {
	case <-stop:
		return probe.IDMaps{}, func() error { return unlessGone(img.Remove(context.WithoutCancel(ctx))) }, errProbeStopped
	default:
	}
	res, removeContainer, err := img.RunLeaving(ctx, probe.RunOptions{Args: []string{"idmap"}})
	// Either may be gone already: removed by an earlier try.
	remove := func() error {
		return errors.Join(unlessGone(removeContainer()), unlessGone(img.Remove(context.WithoutCancel(ctx))))
	}
	if err != nil {
		return probe.IDMaps{}, remove, err
	}
	if res.ExitCode != 0 {
		return probe.IDMaps{}, remove, fmt.Errorf("probe container exited %d: %s", res.ExitCode, res.Stderr)
	}
	maps, err := probe.DecodeIDMaps(res.Stdout)
	return maps, remove, err
}

// errProbeStopped: the probe started no container, its answer being moot.
var errProbeStopped = errors.New("probe stopped")

// unlessGone is err, unless it says that what was to be removed is not there.
func unlessGone(err error) error {
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

func remapCheck(state daemon.State, exp Expectation) Check {
	return Check{
		Name:     "daemon reports name=userns",
		OK:       state.Remapped == exp.Remapped,
		Expected: onOff(exp.Remapped),
		Observed: onOff(state.Remapped),
	}
}

func dataRootCheck(state daemon.State, exp Expectation) Check {
	uid, gid, remappedRoot := state.RemappedRootPair()
	c := Check{Name: "data root", Observed: state.DataRoot}
	if exp.Remapped {
		c.Expected = fmt.Sprintf(".../%d.%d", exp.RootUID, exp.RootGID)
		c.OK = remappedRoot && uid == exp.RootUID && gid == exp.RootGID
	} else {
		c.Expected = "no <uid>.<gid> suffix"
		c.OK = !remappedRoot
	}
	return c
}

func mapCheck(name string, want idmap.Map, got string) Check {
	observed, err := idmap.Parse(got)
	c := Check{Name: name, Expected: want.String(), Observed: observed.String()}
	if err != nil {
		c.Observed = err.Error()
		return c
	}
	c.OK = want.Equal(observed)
	return c
}

func onOff(b bool) string {
	if b {
		return "remapping on"
	}
	return "remapping off"
}
