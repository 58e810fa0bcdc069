package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/internal/pluginbuild"
	"github.com/docker-userns/docker-userns/plugin/internal/steptrace"
)

// The benchmarks below start DinD hosts and time commands in them with the
// shell's clock, so `docker exec` round trips stay out of the figures, or
// from here for commands that go through the daemon. `make bench` runs them
// with -run '^$' -bench ... -benchtime Nx; each loop iteration is one
// sample of every figure the benchmark reports, and the reported metrics
// are medians. Nothing here asserts a time: the machine is shared, and only
// a ratio of two medians taken in the same run means something.

// benchImage is the DinD image of USERNS_BENCH_VERSION in the flavour
// asked (default 20.10 supervised, 26.1 under systemd: a server's setup).
func benchImage(b *testing.B, flavour harness.Flavour) harness.Image {
	b.Helper()
	name := os.Getenv("USERNS_BENCH_VERSION")
	switch {
	case name == "" && flavour == harness.Systemd:
		name = "26.1"
	case name == "":
		name = "20.10"
	}
	if flavour == harness.Systemd {
		name += "-systemd"
	}
	img, ok := harness.ImageByName(name)
	if !ok {
		b.Fatalf("start bench host: no harness image %q", name)
	}
	return img
}

// benchHost starts a DinD host of img with the plugin built from this tree
// and the CI user agent.
func benchHost(b *testing.B, img harness.Image) *harness.DinD {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "docker-userns")
	benchPlugin(b, bin)
	d := harness.Start(b, img.Ref, harness.WithPlugin(bin))
	if _, err := d.ExecOK(b.Context(), "useradd", "-r", "-M", "agent"); err != nil {
		b.Fatal(err)
	}
	return d
}

// benchPlugin puts the plugin the hosts get at path: BENCH_PLUGIN, the
// binary scripts/bench measures (`make bench` builds it from this tree;
// another build's binary compares the two), else one built from this tree.
func benchPlugin(b *testing.B, path string) {
	b.Helper()
	from := os.Getenv("BENCH_PLUGIN")
	if from == "" {
		if err := pluginbuild.Plugin(path); err != nil {
			b.Fatal(err)
		}
		return
	}
	bin, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o755)
	}
	if err == nil {
		err = os.WriteFile(path, bin, 0o755)
	}
	if err != nil {
		b.Fatalf("BENCH_PLUGIN: %v", err)
	}
}

// timed runs script in the container between two reads of the clock and
// returns the time between them.
func timed(b *testing.B, d *harness.DinD, script string) time.Duration {
	b.Helper()
	out, err := d.ExecOK(b.Context(), "bash", "-c", `s=$(date +%s%N); { `+script+`; } >/dev/null || exit 1; e=$(date +%s%N); echo $((e-s))`)
	if err != nil {
		b.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		b.Fatalf("time %q: %v", script, err)
	}
	return time.Duration(ns)
}

// timedCPU is timed with the CPU time (user and system) that the
// processes script started used: what a loaded machine stretches far less
// than the wall time. The daemon's own CPU is not in it.
func timedCPU(b *testing.B, d *harness.DinD, script string) (wall, cpu time.Duration) {
	b.Helper()
	// times prints the shell's user and system time, then its children's.
	out, err := d.ExecOK(b.Context(), "bash", "-c", `s=$(date +%s%N); { `+script+`; } >/dev/null || exit 1; e=$(date +%s%N); echo $((e-s)); times`)
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ns, err := strconv.ParseInt(lines[0], 10, 64)
	if err != nil || len(lines) != 3 {
		b.Fatalf("time %q: %q", script, out)
	}
	for _, f := range strings.Fields(lines[2]) {
		// bash's times prints 0m0.012s: a Go duration as it is.
		v, err := time.ParseDuration(f)
		if err != nil {
			b.Fatalf("time %q: %q: %v", script, out, err)
		}
		cpu += v
	}
	return time.Duration(ns), cpu
}

// run runs script in the container, untimed.
func run(b *testing.B, d *harness.DinD, script string) {
	b.Helper()
	if _, err := d.ExecOK(b.Context(), "bash", "-c", script); err != nil {
		b.Fatal(err)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// figure is one row of `make bench`: samples of what is measured and of
// its baseline, taken alternately in the same run, and the machine's load
// while they were.
type figure struct {
	name      string
	got, base []time.Duration
	loads     []float64
}

// add records one sample of each side and the load after them.
func (f *figure) add(got, base time.Duration) {
	f.got = append(f.got, got)
	f.base = append(f.base, base)
	f.loads = append(f.loads, load1())
}

// report gives the medians in ms, the sample count and the median
// one-minute load, each as NAME-UNIT metrics for scripts/bench.
func (f *figure) report(b *testing.B) {
	b.Helper()
	b.ReportMetric(float64(median(f.got).Microseconds())/1000, f.name+"-ms")
	b.ReportMetric(float64(median(f.base).Microseconds())/1000, f.name+"-base-ms")
	b.ReportMetric(float64(len(f.got)), f.name+"-runs")
	loads := slices.Clone(f.loads)
	slices.Sort(loads)
	if len(loads) > 0 {
		b.ReportMetric(loads[len(loads)/2], f.name+"-load")
	}
	b.Logf("%s %v, baseline %v, loads %v", f.name, f.got, f.base, f.loads)
}

// report gives the medians of what and its baseline in ms and their ratio,
// for a benchmark of one figure.
func report(b *testing.B, what, base string, got, baseline []time.Duration) {
	m, mb := median(got), median(baseline)
	b.ReportMetric(float64(m.Microseconds())/1000, what+"-ms")
	b.ReportMetric(float64(mb.Microseconds())/1000, base+"-ms")
	b.ReportMetric(float64(m)/float64(mb), "ratio")
	b.Logf("%s %v, %s %v", what, got, base, baseline)
}

// load1 is the machine's one-minute load average.
func load1() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// The three files `enable agent` writes, which the hand-made change copies
// in; saveFiles and restoreFiles keep and put back a copy under dir
// (missing files stay missing).
const remapFiles = "/etc/docker/daemon.json /etc/subuid /etc/subgid"

func saveFiles(dir string) string {
	return fmt.Sprintf(`rm -rf %[1]s && mkdir -p %[1]s && for f in %[2]s; do [ ! -e "$f" ] || cp -a --parents "$f" %[1]s; done`, dir, remapFiles)
}

func restoreFiles(dir string) string {
	return fmt.Sprintf(`rm -f %s && cp -a %s/. /`, remapFiles, dir)
}

// restartByHand restarts the daemon as an operator would: under systemd
// `systemctl restart docker`; supervised, terminate dockerd and wait for
// its supervisor's next one.
func restartByHand(flavour harness.Flavour) string {
	if flavour == harness.Systemd {
		return `systemctl restart docker`
	}
	return `old=$(cat /var/run/docker.pid) && kill "$old" && while [ -e /proc/"$old" ]; do sleep 0.1; done`
}

// untilRemapped and untilUnremapped wait, polling every 100 ms, for a
// daemon that answers remapped, or not.
const (
	untilRemapped   = `until docker info --format '{{json .SecurityOptions}}' 2>/dev/null | grep -q name=userns; do sleep 0.1; done`
	untilUnremapped = `until o=$(docker info --format '{{json .SecurityOptions}}' 2>/dev/null) && ! echo "$o" | grep -q name=userns; do sleep 0.1; done`
)

// benchEnableByHand: `docker userns enable agent` end to end against the
// same change made by hand (the three files it writes copied in, the
// daemon restarted, until a remapping daemon answers), both from the same
// unremapped state and onto the same already initialised data root.
func benchEnableByHand(b *testing.B, flavour harness.Flavour) {
	d := benchHost(b, benchImage(b, flavour))
	// The first enable creates the remapped data root and the ranges; what
	// disable leaves is the state both sides start from.
	run(b, d, "docker userns enable agent && "+saveFiles("/tmp/bench/byhand")+" && docker userns disable && "+saveFiles("/tmp/bench/before"))
	enable := &figure{name: "enable-" + string(flavour)}
	var steps []enableSteps
	for b.Loop() {
		e, st := tracedEnable(b, d)
		steps = append(steps, st)
		run(b, d, "docker userns disable")
		byHand := timed(b, d, restoreFiles("/tmp/bench/byhand")+" && "+restartByHand(flavour)+" && "+untilRemapped)
		enable.add(e, byHand)
		run(b, d, restoreFiles("/tmp/bench/before")+" && "+restartByHand(flavour)+" && "+untilUnremapped)
	}
	enable.report(b)
	reportSteps(b, enable.name, steps)
}

// enableSteps is where one enable's time went, from the steps it stamped
// (steptrace): before the agent's restart (both starts of the plugin, the
// checks, the writes, the agent's start), the restart until the new daemon
// answers (the daemon's own time: the baseline's too), the hand-over to
// the client's verification, the verification (the probe image's import,
// then its container), and the confirmation until the command ends.
type enableSteps struct {
	before, restart, handover, imported, container, confirm time.Duration
}

// enableStepNames are the parts of enableSteps, as metrics NAME-step-PART-ms.
var enableStepNames = []string{"before", "restart", "handover", "import", "container", "confirm"}

func (s enableSteps) parts() []time.Duration {
	return []time.Duration{s.before, s.restart, s.handover, s.imported, s.container, s.confirm}
}

// tracedEnable runs `docker userns enable agent` in d with
// DOCKER_USERNS_TRACE set, timed with the shell's clock as timed does,
// and reads its steps.
func tracedEnable(b *testing.B, d *harness.DinD) (time.Duration, enableSteps) {
	b.Helper()
	const trace = "/tmp/bench/steps"
	out, err := d.ExecOK(b.Context(), "bash", "-c", `rm -f `+trace+` && s=$(date +%s%N) && DOCKER_USERNS_TRACE=`+trace+` docker userns enable agent >/dev/null && e=$(date +%s%N) && echo "$s 0 begin" && cat `+trace+` && echo "$e 0 end"`)
	if err != nil {
		b.Fatal(err)
	}
	at := map[string]int64{}
	for line := range strings.Lines(out) {
		fields := strings.SplitN(strings.TrimSpace(line), " ", 3)
		if len(fields) != 3 {
			continue
		}
		if ns, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			at[fields[2]] = ns
		}
	}
	between := func(from, to string) time.Duration {
		f, okF := at[from]
		t, okT := at[to]
		if !okF || !okT {
			b.Fatalf("enable's trace lacks %q or %q:\n%s", from, to, out)
		}
		return time.Duration(t - f)
	}
	return between("begin", "end"), enableSteps{
		before:    between("begin", steptrace.AgentRestart),
		restart:   between(steptrace.AgentRestart, steptrace.AgentAnswered),
		handover:  between(steptrace.AgentAnswered, steptrace.VerifyBegin),
		imported:  between(steptrace.VerifyBegin, steptrace.VerifyImported),
		container: between(steptrace.VerifyImported, steptrace.VerifyDone),
		confirm:   between(steptrace.VerifyDone, "end"),
	}
}

// reportSteps gives the median of each part of enable's time as
// NAME-step-PART-ms metrics.
func reportSteps(b *testing.B, name string, steps []enableSteps) {
	b.Helper()
	for i, part := range enableStepNames {
		var ds []time.Duration
		for _, s := range steps {
			ds = append(ds, s.parts()[i])
		}
		b.ReportMetric(float64(median(ds).Microseconds())/1000, name+"-step-"+part+"-ms")
	}
}

// BenchmarkEnableByHand is row (a) on a supervised daemon.
func BenchmarkEnableByHand(b *testing.B) { benchEnableByHand(b, harness.Supervised) }

// BenchmarkEnableByHandSystemd is row (b): docker.service under systemd,
// `systemctl restart docker` as the hand-made restart.
func BenchmarkEnableByHandSystemd(b *testing.B) { benchEnableByHand(b, harness.Systemd) }

// BenchmarkPluginStart is rows (f), (j) and (k): what the docker CLI's two
// starts of the plugin cost, on a remapped supervised host, each against
// the CLI doing the like by itself, sampled alternately. (j) is the
// metadata call as the CLI makes it (the binary with that one argument)
// against `docker --version` (the CLI's start, nothing asked); (k)
// `docker userns version` (the CLI, the metadata call, the plugin's start,
// its set-up and leftover sweep, no other question to the daemon) against
// `docker version` (the CLI, one question); (f) `docker userns status`
// against `docker info`, which also runs every plugin's metadata call.
func BenchmarkPluginStart(b *testing.B) {
	d := benchHost(b, benchImage(b, harness.Supervised))
	run(b, d, "docker userns enable agent")
	// Warm the page cache for both sides.
	run(b, d, "docker userns status && docker info && docker userns version && docker version")
	// Each figure, and its twin in CPU time of the processes it starts.
	type pair struct{ wall, cpu *figure }
	rows := []struct {
		pair
		got, base string
	}{
		{pair{&figure{name: "start-metadata"}, &figure{name: "start-metadata-cpu"}}, harness.PluginPath + " docker-cli-plugin-metadata", "docker --version"},
		{pair{&figure{name: "start-version"}, &figure{name: "start-version-cpu"}}, "docker userns version", "docker version"},
		{pair{&figure{name: "status"}, &figure{name: "status-cpu"}}, "docker userns status", "docker info"},
	}
	for b.Loop() {
		for _, r := range rows {
			gotWall, gotCPU := timedCPU(b, d, r.got)
			baseWall, baseCPU := timedCPU(b, d, r.base)
			r.wall.add(gotWall, baseWall)
			r.cpu.add(gotCPU, baseCPU)
		}
	}
	for _, r := range rows {
		r.wall.report(b)
		r.cpu.report(b)
	}
}

// wallTime runs the docker CLI of the test process and returns how long it took.
func wallTime(b *testing.B, config string, args ...string) time.Duration {
	b.Helper()
	cmd := command(b, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// benchFleet starts n hosts with the plugin inside (for the local
// baseline) and contexts h1..hn in a config dir.
func benchFleet(b *testing.B, n int) ([]*harness.DinD, string) {
	b.Helper()
	config := b.TempDir()
	bin := filepath.Join(config, "cli-plugins", "docker-userns")
	benchPlugin(b, bin)
	hosts := harness.StartHosts(b, benchImage(b, harness.Supervised).Ref, n, harness.WithPlugin(bin))
	for i, d := range hosts {
		if _, err := d.ExecOK(b.Context(), "useradd", "-r", "-M", "agent"); err != nil {
			b.Fatal(err)
		}
		if err := harness.CreateContext(b.Context(), config, "h"+strconv.Itoa(i+1), d); err != nil {
			b.Fatal(err)
		}
	}
	return hosts, config
}

// benchHosts is BENCH_HOSTS, the size of the large rollout (default 10).
func benchHosts(b *testing.B) int {
	n := 10
	if s := os.Getenv("BENCH_HOSTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 4 {
			b.Fatalf("BENCH_HOSTS=%q: want a number of hosts, at least 4", s)
		}
	}
	return n
}

// contexts is --context h1 ... --context hn.
func contexts(n int) []string {
	var args []string
	for i := 1; i <= n; i++ {
		args = append(args, "--context", "h"+strconv.Itoa(i))
	}
	return args
}

// BenchmarkThroughTheDaemon is rows (c), (d) and (e) on one set of hosts:
// enable through the daemon against the same enable run on the host; three
// hosts (canary, then two at once) and BENCH_HOSTS hosts (canary 1,
// parallel 4) against their floor: each host's enable through the daemon
// alone, measured in the same iteration, summed as the rollout runs them
// (rolloutFloor). A batch's hosts restart their daemons at once on this
// machine's cores, which no host alone does: the ratio is what that and the
// rollout itself add.
func BenchmarkThroughTheDaemon(b *testing.B) {
	n := benchHosts(b)
	hosts, config := benchFleet(b, n)
	fleet := func(k int, action string, more ...string) time.Duration {
		args := append(append([]string{"userns", action}, contexts(k)...), more...)
		if action == "enable" {
			args = append(args, "agent")
		}
		return wallTime(b, config, args...)
	}
	via := &figure{name: "through-daemon"}
	three := &figure{name: "fleet-3"}
	many := &figure{name: "fleet-" + strconv.Itoa(n)}
	for b.Loop() {
		alone := make([]time.Duration, n)
		for i := range alone {
			h := "h" + strconv.Itoa(i+1)
			alone[i] = wallTime(b, config, "--context", h, "userns", "enable", "agent")
			wallTime(b, config, "--context", h, "userns", "disable")
		}
		b.Logf("each host's enable through the daemon alone: %v", alone)
		via.add(alone[0], timed(b, hosts[0], "docker userns enable agent"))
		run(b, hosts[0], "docker userns disable")
		three.add(fleet(3, "enable", "--parallel", "2"), rolloutFloor(alone[:3], 1, 2))
		fleet(3, "disable", "--parallel", "3")
		many.add(fleet(n, "enable", "--canary", "1", "--parallel", "4"), rolloutFloor(alone, 1, 4))
		fleet(n, "disable", "--parallel", strconv.Itoa(n))
	}
	via.report(b)
	three.report(b)
	many.report(b)
	reportMemory(b, hosts)
}

// rolloutFloor is what a rollout of these hosts would take if hosts run at
// once cost no more than each alone: the canaries one after another, then
// each batch of parallel as long as its slowest host alone (fleet.Roll's
// order).
func rolloutFloor(alone []time.Duration, canary, parallel int) time.Duration {
	var floor time.Duration
	for start := 0; start < len(alone); {
		end := min(start+parallel, len(alone))
		if start < canary {
			end = start + 1
		}
		floor += slices.Max(alone[start:end])
		start = end
	}
	return floor
}

// BenchmarkFailedHostRevert is row (i), issue 15's "a failed host's revert
// against one restart": a host whose daemon cannot start remapped (its
// data root in a 0700 directory, as in the rollout tests) gets `enable`
// through the daemon, until the command reports the agent's revert, against
// one restart of that daemon by hand, until it answers. Each enable restarts
// the daemon twice (the failed start, then the revert's), so the floor is
// about two restarts.
func BenchmarkFailedHostRevert(b *testing.B) {
	hosts, config := benchFleet(b, 1)
	d := hosts[0]
	const untilAnswers = `until docker info >/dev/null 2>&1; do sleep 0.1; done`
	run(b, d, `install -d -m 0700 /srv/private && echo '{"data-root": "/srv/private/docker"}' >/etc/docker/daemon.json && `+restartByHand(harness.Supervised)+" && "+untilAnswers)
	revert := &figure{name: "failed-revert"}
	for b.Loop() {
		// --force: past the check that names the 0700 directory, to the restart.
		cmd := command(b, "docker", "--context", "h1", "userns", "enable", "--force", "agent")
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err == nil || !strings.Contains(string(out), "the daemon answers with its old config") {
			b.Fatalf("enable on a host that cannot start remapped: want the agent's revert reported, got %v:\n%s", err, out)
		}
		revert.add(took, timed(b, d, restartByHand(harness.Supervised)+" && "+untilAnswers))
	}
	revert.report(b)
}

// reportMemory gives the memory of one DinD host (the median over hosts,
// as `docker stats` counts it) after the rollouts, in MiB: what says how
// many hosts fit beside the other work of the machine.
func reportMemory(b *testing.B, hosts []*harness.DinD) {
	b.Helper()
	args := []string{"stats", "--no-stream", "--format", "{{.MemUsage}}"}
	for _, d := range hosts {
		args = append(args, d.GetContainerID())
	}
	out, err := command(b, "docker", args...).Output()
	if err != nil {
		b.Fatalf("docker stats: %v", err)
	}
	var mibs []float64
	for line := range strings.Lines(string(out)) {
		used, _, _ := strings.Cut(line, " / ")
		mib, err := mebibytes(strings.TrimSpace(used))
		if err != nil {
			b.Fatalf("docker stats: %v", err)
		}
		mibs = append(mibs, mib)
	}
	slices.Sort(mibs)
	b.ReportMetric(mibs[len(mibs)/2], "host-MiB")
	b.ReportMetric(mibs[len(mibs)-1], "host-max-MiB")
}

// mebibytes reads a size as docker stats prints it ("41.57MiB", "1.2GiB").
func mebibytes(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		mib    float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"B", 1.0 / (1 << 20)}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("size %q: %w", s, err)
			}
			return v * u.mib, nil
		}
	}
	return 0, fmt.Errorf("size %q: unknown unit", s)
}

// TestRolloutFloor: the floor takes the canary alone, then each batch's
// slowest host, in fleet.Roll's order.
func TestRolloutFloor(t *testing.T) {
	s := func(n ...int) []time.Duration {
		var ds []time.Duration
		for _, v := range n {
			ds = append(ds, time.Duration(v)*time.Second)
		}
		return ds
	}
	for _, c := range []struct {
		alone            []time.Duration
		canary, parallel int
		want             time.Duration
	}{
		{s(4, 2, 3), 1, 2, 7 * time.Second},
		{s(1, 5, 2, 3, 4, 9, 6, 7, 8, 10), 1, 4, 25 * time.Second},
		{s(3), 1, 4, 3 * time.Second},
	} {
		if got := rolloutFloor(c.alone, c.canary, c.parallel); got != c.want {
			t.Errorf("rolloutFloor(%v, %d, %d) = %v, want %v", c.alone, c.canary, c.parallel, got, c.want)
		}
	}
}
