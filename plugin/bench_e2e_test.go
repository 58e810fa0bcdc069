package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// The benchmarks below start a DinD host and time commands inside it with
// the shell's clock, so `docker exec` round trips stay out of the figures.
// `make bench` runs them with -run '^$' -bench ... -benchtime 5x; each loop
// iteration is one sample and the reported metrics are medians.

// benchHost starts a DinD host of USERNS_BENCH_VERSION (default 20.10) with
// the plugin built from this tree and the CI user agent.
func benchHost(b *testing.B) *harness.DinD {
	b.Helper()
	v := benchVersion(b)
	bin := filepath.Join(b.TempDir(), "docker-userns")
	if err := harness.BuildPlugin(bin); err != nil {
		b.Fatal(err)
	}
	d := harness.Start(b, v.Image, harness.WithPlugin(bin))
	if _, err := d.ExecOK(b.Context(), "useradd", "-r", "-M", "agent"); err != nil {
		b.Fatal(err)
	}
	return d
}

// benchVersion is the harness version of USERNS_BENCH_VERSION (default 20.10).
func benchVersion(b *testing.B) harness.Version {
	b.Helper()
	name := os.Getenv("USERNS_BENCH_VERSION")
	if name == "" {
		name = "20.10"
	}
	v, ok := harness.VersionByName(name)
	if !ok {
		b.Fatalf("start bench host: no harness version %q", name)
	}
	return v
}

// timed runs script in the container between two reads of the clock and
// returns the time between them.
func timed(b *testing.B, d *harness.DinD, script string) time.Duration {
	b.Helper()
	out, err := d.ExecOK(b.Context(), "sh", "-c", `s=$(date +%s%N); { `+script+`; } >/dev/null || exit 1; e=$(date +%s%N); echo $((e-s))`)
	if err != nil {
		b.Fatal(err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		b.Fatalf("time %q: %v", script, err)
	}
	return time.Duration(ns)
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

// report gives the medians of what and its baseline in ms and their ratio.
func report(b *testing.B, what, base string, got, baseline []time.Duration) {
	m, mb := median(got), median(baseline)
	b.ReportMetric(float64(m.Microseconds())/1000, what+"-ms")
	b.ReportMetric(float64(mb.Microseconds())/1000, base+"-ms")
	b.ReportMetric(float64(m)/float64(mb), "ratio")
	b.Logf("%s %v, %s %v", what, got, base, baseline)
}

// bareRestart stops dockerd and waits for the entry script's next one to
// answer, polling as often as the plugin does (100 ms).
const bareRestart = `old=$(cat /var/run/docker.pid) && kill "$old" &&
while [ -e /proc/"$old" ]; do sleep 0.1; done &&
until docker info >/dev/null 2>&1; do sleep 0.1; done`

// BenchmarkEnableVsRestart: `docker userns enable agent` end to end (plan,
// writes, restart, verification) against a bare restart-to-ready of the
// same daemon: how much of enable's wait is the daemon's own.
func BenchmarkEnableVsRestart(b *testing.B) {
	d := benchHost(b)
	// The first enable creates the remapped data root; time the steady state.
	timed(b, d, "docker userns enable agent && docker userns disable")
	var enable, restart []time.Duration
	for b.Loop() {
		enable = append(enable, timed(b, d, "docker userns enable agent"))
		b.StopTimer()
		timed(b, d, "docker userns disable")
		b.StartTimer()
		restart = append(restart, timed(b, d, bareRestart))
	}
	report(b, "enable", "restart", enable, restart)
}

// BenchmarkStatusVsInfo: `docker userns status` against `docker info` on
// the same remapped daemon: the plugin's start-up and host-file reading on
// top of the one API call both make.
func BenchmarkStatusVsInfo(b *testing.B) {
	d := benchHost(b)
	timed(b, d, "docker userns enable agent")
	timed(b, d, "docker userns status && docker info") // warm the page cache
	var status, info []time.Duration
	for b.Loop() {
		status = append(status, timed(b, d, "docker userns status"))
		info = append(info, timed(b, d, "docker info"))
	}
	report(b, "status", "info", status, info)
}

// wallTime runs the docker CLI of the test process and returns how long it took.
func wallTime(b *testing.B, config string, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// benchFleet starts n hosts of USERNS_BENCH_VERSION with the plugin inside
// (for the local baseline) and contexts h1..hn in a config dir.
func benchFleet(b *testing.B, n int) ([]*harness.DinD, string) {
	b.Helper()
	v := benchVersion(b)
	config := b.TempDir()
	bin := filepath.Join(config, "cli-plugins", "docker-userns")
	if err := harness.BuildPlugin(bin); err != nil {
		b.Fatal(err)
	}
	hosts := harness.StartHosts(b, v.Image, n, harness.WithPlugin(bin))
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

// BenchmarkEnableThroughDaemon: `enable agent` through the daemon from
// outside the host (helper container, host agent, confirm) against the
// same enable run on the host itself.
func BenchmarkEnableThroughDaemon(b *testing.B) {
	hosts, config := benchFleet(b, 1)
	var via, local []time.Duration
	for b.Loop() {
		via = append(via, wallTime(b, config, "--context", "h1", "userns", "enable", "agent"))
		wallTime(b, config, "--context", "h1", "userns", "disable")
		local = append(local, timed(b, hosts[0], "docker userns enable agent"))
		timed(b, hosts[0], "docker userns disable")
	}
	report(b, "through-daemon", "local", via, local)
}

// BenchmarkFleetRollout3: `enable agent` over three hosts (canary, then the
// other two at once) against one host through the daemon.
func BenchmarkFleetRollout3(b *testing.B) {
	_, config := benchFleet(b, 3)
	var fleet, single []time.Duration
	for b.Loop() {
		fleet = append(fleet, wallTime(b, config, "userns", "enable", "--context", "h1", "--context", "h2", "--context", "h3", "--parallel", "2", "agent"))
		wallTime(b, config, "userns", "disable", "--context", "h1", "--context", "h2", "--context", "h3", "--parallel", "3")
		single = append(single, wallTime(b, config, "--context", "h1", "userns", "enable", "agent"))
		wallTime(b, config, "--context", "h1", "userns", "disable")
	}
	report(b, "fleet-of-3", "one-host", fleet, single)
}
