package harness_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/harness/fixtureimage"
	"github.com/testcontainers/testcontainers-go"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestRunBootsTheVersionAndExecSeparatesStreams(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		d := harness.Start(t, v.Image)

		server := d.MustExec(t, "docker", "version", "--format", "{{.Server.Version}}")
		if !strings.HasPrefix(server, v.Name+".") {
			t.Errorf("inner daemon version = %q, want %s.x", server, v.Name)
		}
		img, _ := harness.ImageByName(v.Name)
		expectBuiltRelease(t, ctx, d, img)

		res, err := d.Exec(ctx, "sh", "-c", "echo out; echo err >&2; exit 3")
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 3 || res.Stdout != "out\n" || res.Stderr != "err\n" {
			t.Errorf("Exec = exit %d, stdout %q, stderr %q; want 3, %q, %q", res.ExitCode, res.Stdout, res.Stderr, "out\n", "err\n")
		}
		_, err = d.ExecOK(ctx, "sh", "-c", "echo boom >&2; exit 4")
		var exitErr *harness.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode != 4 || !strings.Contains(err.Error(), "boom") {
			t.Errorf("ExecOK of a failing command: err = %v, want an ExitError with exit code 4 and its output", err)
		}
	})
}

// expectBuiltRelease checks, on an image whose Docker is built from Go
// modules (Docker 29), that dockerd and the CLI report its release and
// that the fresh data root keeps images in the containerd image store, the
// default from Docker 29 (moby v2.0.0-beta.24 daemon/image_store_choice.go,
// determineImageStoreChoice: containerd unless configured otherwise or the
// data root holds a graphdriver's data).
func expectBuiltRelease(t *testing.T, ctx context.Context, d *harness.DinD, img harness.Image) {
	t.Helper()
	if img.Release == "" {
		return
	}
	got := d.MustExec(t, "docker", "version", "--format", "{{.Client.Version}} {{.Server.Version}}")
	if got != img.Release+" "+img.Release {
		t.Errorf("docker version: client and server %q, want %s for both", got, img.Release)
	}
	status := d.MustExec(t, "docker", "info", "--format", "{{json .DriverStatus}}")
	if !strings.Contains(status, "io.containerd.snapshotter.v1") {
		t.Errorf("docker info on a fresh data root: DriverStatus %s, want driver-type io.containerd.snapshotter.v1", status)
	}
}

func TestExecAsWritesFilesOwnedByTheUser(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		d := harness.Start(t, v.Image)

		d.MustExec(t, "useradd", "--create-home", "builder")
		uid := d.MustExec(t, "id", "-u", "builder")
		if _, err := d.ExecAsOK(ctx, "builder", "sh", "-c", "echo hi > /home/builder/out"); err != nil {
			t.Fatal(err)
		}
		if got := d.MustExec(t, "stat", "-c", "%u %U", "/home/builder/out"); got != uid+" builder" {
			t.Errorf("owner of a file written as builder = %q, want %q", got, uid+" builder")
		}
		if got := d.MustExec(t, "whoami"); got != "root" {
			t.Errorf("Exec runs as %q, want root", got)
		}
	})
}

func TestFilesRoundTrip(t *testing.T) {
	v := harness.Versions()[0]
	ctx := ctxFor(t)
	d := harness.Start(t, v.Image)

	if err := d.WriteFile(ctx, "/etc/harness-test/written", []byte("one\ntwo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := d.MustExec(t, "stat", "-c", "%a %u", "/etc/harness-test/written"); got != "600 0" {
		t.Errorf("written file mode and owner = %q, want %q", got, "600 0")
	}
	b, err := d.ReadFile(ctx, "/etc/harness-test/written")
	if err != nil || string(b) != "one\ntwo\n" {
		t.Errorf("ReadFile = %q, %v; want what was written", b, err)
	}

	host := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(host, []byte("#!/bin/sh\necho copied tool\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.CopyFile(ctx, host, "/usr/local/bin/copied-tool", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := d.MustExec(t, "copied-tool"); got != "copied tool" {
		t.Errorf("copied tool printed %q", got)
	}
	if _, err := d.ReadFile(ctx, "/no/such/file"); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

func TestRestartDaemonPicksUpDaemonJSON(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		// A key may come from the flags or from daemon.json, never both.
		d := harness.Start(t, v.Image, harness.WithDockerdFlags("--label=from-flag=1"))

		info := func() string {
			return d.MustExec(t, "docker", "info", "--format", "{{.Debug}} {{json .Labels}}")
		}
		if got := info(); got != `false ["from-flag=1"]` {
			t.Errorf("debug and labels = %s, want debug off and the label from WithDockerdFlags", got)
		}
		before, err := d.DaemonPID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{"debug": true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.RestartDaemon(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := d.DaemonPID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after == before {
			t.Errorf("dockerd pid after restart = %d, the same as before", after)
		}
		if got := info(); got != `true ["from-flag=1"]` {
			t.Errorf("debug and labels after restart = %s, want debug on and the label from the flags", got)
		}

		// A broken config keeps the daemon down; the entry script keeps
		// trying, so a good config brings it back.
		if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{"labels": [`), 0o644); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = d.RestartDaemon(short)
		cancel()
		if err == nil {
			t.Fatal("RestartDaemon with a broken daemon.json succeeded")
		}
		if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.WaitDaemon(ctx); err != nil {
			t.Fatalf("daemon did not come back after the config was repaired: %v", err)
		}
		log, err := d.DaemonLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, "dockerd exited") {
			t.Errorf("daemon log does not record the failed starts:\n%s", log)
		}
	})
}

func TestImportBusyboxRunsInTheInnerDaemon(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		d := harness.Start(t, v.Image)
		if err := d.ImportBusybox(ctx, "busybox:latest"); err != nil {
			t.Fatal(err)
		}
		if got := d.MustExec(t, "docker", "run", "--rm", "busybox", "sh", "-c", "id -u; ls /bin/ls"); got != "0\n/bin/ls" {
			t.Errorf("busybox container printed %q", got)
		}
	})
}

var cannotMap = regexp.MustCompile(`(?i)cannot be mapped to a host id`)

func TestPullAndLoadOfHighUIDImageFailOnlyUnderNarrowRemap(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		d := harness.Start(t, v.Image)
		if err := d.StartRegistry(ctx); err != nil {
			t.Fatal(err)
		}
		high := harness.RegistryAddr + "/high:latest"
		low := harness.RegistryAddr + "/low:latest"
		if _, err := d.PushImage(ctx, high, fixtureimage.File{Path: "/etc/x", UID: 70000, GID: 70000}, fixtureimage.File{Path: "/root0"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.PushImage(ctx, low, fixtureimage.File{Path: "/root0"}); err != nil {
			t.Fatal(err)
		}

		d.MustExec(t, "docker", "pull", high)
		loaded, err := fixtureimage.Image(fixtureimage.File{Path: "/etc/y", UID: 70000, GID: 70000})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.LoadImage(ctx, "loaded-high:latest", loaded); err != nil {
			t.Fatalf("load of a high-uid image without remap: %v", err)
		}
		owner := d.MustExec(t, "sh", "-c", "docker create --name probe "+high+" none >/dev/null && docker cp probe:/etc/x - | tar -tvf - --numeric-owner")
		if !strings.Contains(owner, "70000/70000") {
			t.Errorf("file of the pulled image listed as %q, want owner 70000/70000", owner)
		}

		// Remap container root to agent's 65536 subordinate ids by hand.
		d.MustExec(t, "useradd", "--system", "agent")
		for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
			if err := d.WriteFile(ctx, f, []byte("agent:100000:65536\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{"userns-remap": "agent"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.RestartDaemon(ctx); err != nil {
			t.Fatal(err)
		}
		if got := d.MustExec(t, "docker", "info", "--format", "{{json .SecurityOptions}}"); !strings.Contains(got, "name=userns") {
			t.Fatalf("security options after remap = %s, want name=userns", got)
		}

		res, err := d.Exec(ctx, "docker", "pull", high)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode == 0 || !cannotMap.MatchString(res.Stderr+res.Stdout) {
			t.Errorf("pull of %s under a 65536-wide remap: exit %d, output %q; want a failure saying the id cannot be mapped", high, res.ExitCode, res.Stderr+res.Stdout)
		}
		d.MustExec(t, "docker", "pull", low)

		// A load from a tarball meets the same limit as a pull.
		img, err := fixtureimage.Image(fixtureimage.File{Path: "/etc/x", UID: 70000, GID: 70000})
		if err != nil {
			t.Fatal(err)
		}
		err = d.LoadImage(ctx, "loaded-high:latest", img)
		var exitErr *harness.ExitError
		if !errors.As(err, &exitErr) || !cannotMap.MatchString(exitErr.Stderr+exitErr.Stdout) {
			t.Errorf("load of a high-uid image under a 65536-wide remap: err = %v; want docker's refusal saying the id cannot be mapped", err)
		}
		img, err = fixtureimage.Image(fixtureimage.File{Path: "/root0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.LoadImage(ctx, "loaded-low:latest", img); err != nil {
			t.Fatal(err)
		}
		d.MustExec(t, "docker", "image", "inspect", "loaded-low:latest")
	})
}

func TestRunFailsForMissingImage(t *testing.T) {
	d, err := harness.Run(t.Context(), "docker-userns-dind:no-such-version")
	harness.Cleanup(t, d)
	if err == nil || !strings.Contains(err.Error(), "make dind-images") {
		t.Errorf("Run with a missing image: err = %v, want one naming `make dind-images`", err)
	}
}

// BenchmarkRun measures harness.Run up to a ready inner daemon; besides the
// mean (ns/op) it reports the median, less swayed by a busy machine.
func BenchmarkRun(b *testing.B) {
	for _, v := range harness.Versions() {
		b.Run(v.Name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				d, err := harness.Run(b.Context(), v.Image)
				took = append(took, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := d.Terminate(context.Background(), testcontainers.StopTimeout(0)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			slices.Sort(took)
			b.ReportMetric(took[len(took)/2].Seconds(), "median-s/ready")
		})
	}
}

func TestWithPluginIsFoundByTheInnerCLI(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "docker-userns")
	// A CLI plugin only has to answer the metadata subcommand.
	script := `#!/bin/sh
if [ "$1" = docker-cli-plugin-metadata ]; then
	echo '{"SchemaVersion":"0.1.0","Vendor":"harness test","Version":"v0.0.0","ShortDescription":"fake"}'
	exit 0
fi
echo "fake plugin as $(id -un): $*"
`
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		d := harness.Start(t, v.Image, harness.WithPlugin(plugin))
		if got := d.MustExec(t, "docker", "userns", "check"); got != "fake plugin as root: userns check" {
			t.Errorf("docker userns check as root printed %q", got)
		}
		d.MustExec(t, "useradd", "--system", "agent")
		out, err := d.ExecAsOK(ctx, "agent", "docker", "userns", "check")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out); got != "fake plugin as agent: userns check" {
			t.Errorf("docker userns check as agent printed %q", got)
		}
	})
}

func TestEntryScriptSupervisesDockerdAndStopsOnTerm(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		ctx := ctxFor(t)
		d := harness.Start(t, v.Image, harness.WithDaemonJSON(`{"debug": true}`))
		if got := d.MustExec(t, "docker", "info", "--format", "{{.Debug}}"); got != "true" {
			t.Errorf("debug with WithDaemonJSON(debug) = %s, want true", got)
		}

		// dockerd killed outright comes back by itself.
		before, err := d.DaemonPID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pid := strconv.Itoa(before)
		d.MustExec(t, "sh", "-c", "kill -KILL "+pid+"; while kill -0 "+pid+" 2>/dev/null; do sleep 0.05; done")
		if err := d.WaitDaemon(ctx); err != nil {
			t.Fatal(err)
		}
		if after, err := d.DaemonPID(ctx); err != nil || after == before {
			t.Errorf("dockerd pid after kill -9 = %d (%v), want a new one (was %d)", after, err, before)
		}

		// A TERM stops the container by the script's own exit (code 0),
		// not by the KILL that follows an ignored TERM (137).
		timeout := 10 * time.Second
		if err := d.Stop(ctx, &timeout); err != nil {
			t.Fatal(err)
		}
		state, err := d.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if state.Running || state.ExitCode != 0 {
			t.Errorf("after docker stop: running %v, exit code %d; want stopped with 0", state.Running, state.ExitCode)
		}
	})
}
