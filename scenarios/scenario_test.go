package scenarios

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/internal/pluginbuild"
)

// pollEvery is how often a wait looks again; waits end at their deadline.
const pollEvery = 50 * time.Millisecond

// plugin is the plugin built once for this test binary, static, as `make
// build` does, so the DinD host runs the code of this tree.
var plugin pluginbuild.Once

func TestMain(m *testing.M) {
	flag.Parse()
	if err := printPlan(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	plugin.Remove()
	printProcessCPU(os.Stdout)
	os.Exit(code)
}

// printProcessCPU prints the CPU-seconds this test process used besides the
// DinD hosts (MarkProcessCPU): its own (testcontainers, the exec agents'
// client side) and its children's (the go builds of the plugin and tools).
func printProcessCPU(w io.Writer) {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return
	}
	cpu := func(r syscall.Rusage) float64 {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano()).Seconds()
	}
	fmt.Fprintf(w, "%s%.2f %.2f\n", MarkProcessCPU, cpu(self), cpu(children))
}

// printPlan prints, before any test runs, one MarkPlan line per scenario:
// the hosts the tier gives it, as far as -run lets them run, so the report
// can say what runs where, count what is left and print the placements.
func printPlan(w io.Writer) error {
	tier, err := tier()
	if err != nil {
		return err
	}
	var run []*regexp.Regexp
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		// -run's levels, split on "/" (a pattern with "/" inside brackets is
		// not split right: the plan then counts too many or too few runs).
		for _, level := range strings.Split(f.Value.String(), "/") {
			re, err := regexp.Compile(level)
			if err != nil {
				return fmt.Errorf("plan: -run: %w", err)
			}
			run = append(run, re)
		}
	}
	tests := make([]string, 0, len(placements))
	for test := range placements {
		tests = append(tests, test)
	}
	sort.Strings(tests)
	for _, test := range tests {
		p := placements[test]
		imgs, rule, err := hostsFor(tier, test)
		if err != nil {
			return err
		}
		e := PlanEntry{Tier: tier, Test: test, Claim: p.claim, Hosts: rule.words, Images: []string{}}
		if tier == TierQuick {
			e.Why = p.why
		}
		if len(run) > 0 && !run[0].MatchString(test) {
			imgs = nil
		}
		for _, img := range imgs {
			if len(run) < 2 || run[1].MatchString(img.Name()) {
				e.Images = append(e.Images, img.Name())
			}
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s%s\n", MarkPlan, b)
	}
	return nil
}

// scenario is one run of a scenario on one DinD image (a Docker version in
// one flavour): the test, its DinD host and the step in progress.
type scenario struct {
	t    *testing.T
	img  harness.Image
	d    *harness.DinD
	ctx  context.Context
	step string
}

// forEachHost runs body as the scenario intent once per image that
// tiers_test.go places the scenario (the calling top-level test) on in
// this run's tier, named img.Name() ("26.1", "26.1-systemd"); the images
// (and the scenarios, each calling this from its own top-level test) in
// parallel: the work is mostly waiting on daemons. A tier that leaves the
// scenario out runs no subtest.
func forEachHost(t *testing.T, intent string, body func(s *scenario)) {
	t.Parallel()
	tier, err := tier()
	if err != nil {
		t.Fatal(err)
	}
	images, _, err := hostsFor(tier, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		t.Run(img.Name(), func(t *testing.T) {
			t.Parallel()
			t.Logf("%s%s", MarkScenario, intent)
			body(&scenario{t: t, img: img, ctx: t.Context()})
		})
	}
}

// Step runs fn as the named step of behaviour; a failure in it names it.
func (s *scenario) Step(name string, fn func()) {
	s.t.Helper()
	s.step = name
	s.t.Logf("%s%s", MarkStep, name)
	fn()
	s.logCPU()
}

// logCPU logs the CPU-seconds the host's processes used so far, for the
// report's per-run and per-step figures; nothing when the host's cgroup
// cannot be read from here (a remote Docker engine).
func (s *scenario) logCPU() {
	if s.d == nil {
		return
	}
	if cpu, err := s.d.CPUTime(s.ctx); err == nil {
		s.t.Logf("%s%.2f", MarkCPU, cpu.Seconds())
	}
}

// Fail ends the scenario at the current step with what was expected and
// what was seen.
func (s *scenario) Fail(expected, seen string) {
	s.t.Helper()
	seen = strings.TrimSpace(seen)
	if seen == "" {
		seen = "(nothing)"
	}
	s.t.Fatalf("%s%s\n%s%s\n%s%s", MarkFailed, s.step, MarkExpected, expected, MarkSeen, strings.ReplaceAll(seen, "\n", "\n  "))
}

// Check fails the step unless ok.
func (s *scenario) Check(ok bool, expected, seen string) {
	s.t.Helper()
	if !ok {
		s.Fail(expected, seen)
	}
}

// hostSetup is how a scenario's DinD host comes up: dockerd flags, as a
// unit's ExecStart would give them, and a daemon.json of its own.
type hostSetup struct {
	flags      []string
	daemonJSON string
}

// noNetworkFlags go to dockerd on the supervised hosts: no iptables rules.
// No claim needs them (the build containers talk to nothing, the test
// registry is the host's loopback, remapping does not touch networking),
// and they cost each daemon start about 0.4 of its 0.7 to 0.9 CPU-seconds
// (measured with the host's cgroup, Docker 20.10 and 28.5). The supervised
// hosts are ours (an entry script, not a unit); the systemd hosts keep
// Debian's docker.service as shipped, so restarts with the rules are still
// proved there.
var noNetworkFlags = []string{"--iptables=false", "--ip6tables=false"}

// Start starts the scenario's DinD host with the plugin installed.
func (s *scenario) Start() {
	s.t.Helper()
	s.StartWith(hostSetup{})
}

// StartWith starts the scenario's DinD host as h says, with the plugin
// installed.
func (s *scenario) StartWith(h hostSetup) {
	s.t.Helper()
	bin, err := plugin.Path()
	if err != nil {
		s.Fail("the plugin builds", err.Error())
	}
	opts := []testcontainers.ContainerCustomizer{harness.WithPlugin(bin)}
	flags := h.flags
	if s.img.Flavour == harness.Supervised {
		flags = append(slices.Clip(flags), noNetworkFlags...)
	}
	if len(flags) > 0 {
		opts = append(opts, harness.WithDockerdFlags(flags...))
	}
	if h.daemonJSON != "" {
		opts = append(opts, harness.WithDaemonJSON(h.daemonJSON))
	}
	s.d = harness.Start(s.t, s.img.Ref, opts...)
}

// Try runs cmd on the DinD host as user ("" is root) and returns what it
// did; only a failure to run it at all ends the step.
func (s *scenario) TryAs(user string, cmd ...string) harness.ExecResult {
	s.t.Helper()
	res, err := s.d.ExecAs(s.ctx, user, cmd...)
	if err != nil {
		s.Fail(fmt.Sprintf("%q runs on the DinD host", strings.Join(cmd, " ")), err.Error())
	}
	return res
}

// Try is TryAs as root.
func (s *scenario) Try(cmd ...string) harness.ExecResult {
	s.t.Helper()
	return s.TryAs("", cmd...)
}

// RunAs runs cmd as user and returns its trimmed stdout; a non-zero exit
// fails the step.
func (s *scenario) RunAs(user string, cmd ...string) string {
	s.t.Helper()
	res := s.TryAs(user, cmd...)
	if res.ExitCode != 0 {
		who := ""
		if user != "" {
			who = " as " + user
		}
		s.Fail(fmt.Sprintf("%q%s exits 0", strings.Join(cmd, " "), who), describe(res))
	}
	return strings.TrimSpace(res.Stdout)
}

// Run is RunAs as root.
func (s *scenario) Run(cmd ...string) string {
	s.t.Helper()
	return s.RunAs("", cmd...)
}

// Shell runs script with sh -c as root and returns its trimmed stdout.
func (s *scenario) Shell(script string) string {
	s.t.Helper()
	return s.Run("sh", "-c", script)
}

// Write puts content into the host file at path.
func (s *scenario) Write(path, content string) {
	s.t.Helper()
	if err := s.d.WriteFile(s.ctx, path, []byte(content), 0o644); err != nil {
		s.Fail("write "+path+" on the DinD host", err.Error())
	}
}

// Owner is the numeric "uid:gid" of path on the DinD host.
func (s *scenario) Owner(path string) string {
	s.t.Helper()
	return s.Run("stat", "-c", "%u:%g", path)
}

// IDs is the numeric "uid:gid" of the host user name.
func (s *scenario) IDs(name string) string {
	s.t.Helper()
	return s.Run("id", "-u", name) + ":" + s.Run("id", "-g", name)
}

// Remapped asks the daemon (not the plugin) whether it remaps: `docker
// info` lists name=userns in its security options only then.
func (s *scenario) Remapped() bool {
	s.t.Helper()
	return strings.Contains(s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"), "name=userns")
}

// Hashes is sha256sum's line for each path, to compare files byte for byte.
func (s *scenario) Hashes(paths ...string) string {
	s.t.Helper()
	return s.Run(append([]string{"sha256sum"}, paths...)...)
}

// ImportBusybox makes busybox:latest in the daemon's current data root.
func (s *scenario) ImportBusybox() {
	s.t.Helper()
	if err := s.d.ImportBusybox(s.ctx, "busybox:latest"); err != nil {
		s.Fail("busybox:latest imports into the daemon", err.Error())
	}
}

// Restart restarts the inner daemon with its current configuration.
func (s *scenario) Restart() {
	s.t.Helper()
	if err := s.d.RestartDaemon(s.ctx); err != nil {
		s.Fail("the daemon restarts and answers", err.Error())
	}
}

// WaitFor polls cond until it holds or timeout passes; cond returns what it
// saw, for the failure.
func (s *scenario) WaitFor(expected string, timeout time.Duration, cond func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.Fail(fmt.Sprintf("%s within %s", expected, timeout), seen)
		}
		select {
		case <-s.ctx.Done():
			s.Fail(expected, "test ended: "+s.ctx.Err().Error())
		case <-time.After(pollEvery):
		}
	}
}

// describe is a command's result for a failure report.
func describe(res harness.ExecResult) string {
	out := strings.TrimSpace(strings.TrimSpace(res.Stderr) + "\n" + strings.TrimSpace(res.Stdout))
	return fmt.Sprintf("exit %d: %s", res.ExitCode, out)
}
