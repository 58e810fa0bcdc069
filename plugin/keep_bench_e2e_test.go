package main_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// keepBenchMB is the size of the random image BenchmarkKeepImages carries
// (USERNS_BENCH_KEEP_MB, default 1024: issue 17's 1 GiB).
func keepBenchMB() int {
	if n, err := strconv.Atoi(os.Getenv("USERNS_BENCH_KEEP_MB")); err == nil && n > 0 {
		return n
	}
	return 1024
}

// pinger writes "1 NS" or "0 NS" a line to /tmp/ping.log every 50 ms: the
// daemon answered or not at that time. It is a program of its own (sh -c),
// not a subshell: a forked bash keeps the descriptor its parent saved the
// command's stdout in, and the harness's exec agent waits for that pipe to
// close, so a subshell made timed() wait for the pinger for ever.
const pinger = `sh -c 'while :; do if docker version -f "{{.Server.Version}}" >/dev/null 2>&1; then echo "1 $(date +%s%N)"; else echo "0 $(date +%s%N)"; fi; sleep 0.05; done' </dev/null >/tmp/ping.log 2>&1 & echo $! >/tmp/ping.pid`

// longestOutage is the longest time between an answer and the next one
// after a failure, in ns, from /tmp/ping.log.
const longestOutage = `kill $(cat /tmp/ping.pid); awk '$1==1 {if (down) {g=$2-ok; if (g>max) max=g}; ok=$2; down=0} $1==0 {down=1} END {printf "%.0f\n", max+0}' /tmp/ping.log`

// stamped runs cmd with each line it prints (stdout and stderr) stamped
// with the ns clock into /tmp/stamped.log, starting with a "start" line.
func stamped(cmd string) string {
	return `echo "$(date +%s%N) start" >/tmp/stamped.log; ` + cmd + ` 2>&1 | while IFS= read -r l; do echo "$(date +%s%N) $l"; done >>/tmp/stamped.log`
}

// phases reads /tmp/stamped.log: the time from the start to the line
// beginning with first, from there to the next line, and from the line
// beginning with third to the next line.
func phases(b *testing.B, log, first, third string) (prep, save, load time.Duration) {
	b.Helper()
	type line struct {
		ns   int64
		text string
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		ts, text, _ := strings.Cut(l, " ")
		ns, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			b.Fatalf("stamped line %q", l)
		}
		lines = append(lines, line{ns, text})
	}
	at := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(l.text, prefix) && i+1 < len(lines) {
				return i
			}
		}
		b.Fatalf("no line %q followed by another in:\n%s", prefix, log)
		return 0
	}
	i, j := at(first), at(third)
	return time.Duration(lines[i].ns - lines[0].ns), time.Duration(lines[i+1].ns - lines[i].ns), time.Duration(lines[j+1].ns - lines[j].ns)
}

// BenchmarkKeepImages is rows (g) and (h): what `enable --keep-images` spends carrying a
// random image of USERNS_BENCH_KEEP_MB (its own progress lines, stamped:
// start-up and listing before the save, the save with its scan, the load
// after the confirmed restart) against the daemon's own `docker
// save` before the switch and `docker load` after it; and the longest
// outage of the API during enable with and without it (carrying happens
// before and after the restart, so it should add none).
func BenchmarkKeepImages(b *testing.B) {
	d := benchHost(b, benchImage(b, harness.Supervised))
	mb := keepBenchMB()
	timed(b, d, fmt.Sprintf("mkdir -p /tmp/big && head -c %dM /dev/urandom >/tmp/big/blob && tar -C /tmp/big -c . | docker import - big:1 && rm -rf /tmp/big", mb))
	// The first enable creates the remapped data root; time the steady state.
	timed(b, d, "docker userns enable agent && docker userns disable")
	outage := func(script string) time.Duration {
		b.Helper()
		timed(b, d, pinger+" && "+script)
		out, err := d.ExecOK(b.Context(), "sh", "-c", longestOutage)
		if err != nil {
			b.Fatal(err)
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		if err != nil {
			b.Fatalf("outage %q: %v", out, err)
		}
		return time.Duration(ns)
	}
	// keep: carrying against the daemon's own save and load; keep-outage:
	// the API's longest outage with --keep-images against plain enable.
	carry := &figure{name: "keep"}
	outages := &figure{name: "keep-outage"}
	var prep, save, load, dsave, dload []time.Duration
	for b.Loop() {
		downPlain := outage("docker userns enable agent")
		timed(b, d, "docker userns disable")
		downKeep := outage(stamped("docker userns enable --keep-images agent"))
		outages.add(downKeep, downPlain)
		log, err := d.ExecOK(b.Context(), "cat", "/tmp/stamped.log")
		if err != nil {
			b.Fatal(err)
		}
		// Each span ends at the next line: the plugin's own "saved in" and
		// "loaded in".
		p, s, l := phases(b, log, "saving ", "loading ")
		// The remapped root must not keep the layers: a later load would
		// skip them.
		timed(b, d, "docker image rm big:1 && docker userns disable")
		ds := timed(b, d, "docker save -o /tmp/big.tar big:1")
		timed(b, d, "docker userns enable agent")
		dl := timed(b, d, "docker load -i /tmp/big.tar")
		timed(b, d, "docker image rm big:1 && rm /tmp/big.tar && docker userns disable")
		carry.add(p+s+l, ds+dl)
		prep, save, load = append(prep, p), append(save, s), append(load, l)
		dsave, dload = append(dsave, ds), append(dload, dl)
	}
	carry.report(b)
	outages.report(b)
	b.Logf("%d MiB: prep %v, save %v, load %v; docker save %v, docker load %v", mb, prep, save, load, dsave, dload)
}
