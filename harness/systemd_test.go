package harness_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
)

// systemdCtx bounds a systemd test: longer than ctxFor's, since a boot and
// each systemctl restart take seconds on a loaded 2-core machine (a full
// run of this file took up to 3 minutes per image there).
func systemdCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// unitProps reads properties of unit as a map, from `systemctl show`.
func unitProps(t *testing.T, ctx context.Context, d *harness.DinD, unit string, props ...string) map[string]string {
	t.Helper()
	out := d.MustExec(t, "systemctl", "show", "--property="+strings.Join(props, ","), unit)
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestSystemdRunsDockerAsOnAServer(t *testing.T) {
	harness.ForEachImage(t, harness.Systemd, func(t *testing.T, img harness.Image) {
		ctx := systemdCtx(t)
		d := harness.Start(t, img.Ref)
		if d.Flavour() != harness.Systemd {
			t.Errorf("Flavour() = %s, want %s", d.Flavour(), harness.Systemd)
		}

		if got := d.MustExec(t, "cat", "/proc/1/comm"); got != "systemd" {
			t.Errorf("PID 1 is %q, want systemd", got)
		}
		if got := d.MustExec(t, "sh", "-c", "systemctl is-system-running; true"); got != "running" {
			t.Errorf("systemctl is-system-running = %q, want running; failed units:\n%s", got,
				d.MustExec(t, "systemctl", "--failed", "--no-legend"))
		}
		server := d.MustExec(t, "docker", "version", "--format", "{{.Server.Version}}")
		if !strings.HasPrefix(server, img.Version+".") {
			t.Errorf("inner daemon version = %q, want %s.x", server, img.Version)
		}
		expectBuiltRelease(t, ctx, d, img)

		// The package's own units (Debian's, or docker-ce's as installed
		// for a Docker built from Go modules), untouched: dockerd -H fd://
		// behind docker.socket, no drop-in.
		svc := unitProps(t, ctx, d, harness.DockerService, "ActiveState", "ExecStart", "TriggeredBy", "DropInPaths", "FragmentPath")
		if svc["ActiveState"] != "active" || !strings.Contains(svc["ExecStart"], "-H fd://") ||
			!strings.Contains(svc["TriggeredBy"], harness.DockerSocket) || svc["DropInPaths"] != "" ||
			!strings.HasSuffix(svc["FragmentPath"], "/lib/systemd/system/docker.service") {
			t.Errorf("docker.service = %v; want active, ExecStart with -H fd://, triggered by docker.socket, the package's unit, no drop-in", svc)
		}
		sock := unitProps(t, ctx, d, harness.DockerSocket, "ActiveState", "Listen")
		if sock["ActiveState"] != "active" || !strings.Contains(sock["Listen"], "/run/docker.sock") {
			t.Errorf("docker.socket = %v; want active, listening on /run/docker.sock", sock)
		}

		// systemctl restart, as an administrator types it, makes a new
		// main process; the socket stays.
		before, err := d.DaemonPID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if main := unitProps(t, ctx, d, harness.DockerService, "MainPID")["MainPID"]; main != strconv.Itoa(before) {
			t.Errorf("DaemonPID = %d, MainPID = %s", before, main)
		}
		if got := d.MustExec(t, "sh", "-c", "ps -o args= -p "+strconv.Itoa(before)); !strings.Contains(got, "dockerd -H fd://") {
			t.Errorf("main process of docker.service runs %q, want dockerd -H fd://", got)
		}
		d.MustExec(t, "systemctl", "restart", "docker")
		if err := d.WaitDaemon(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := d.DaemonPID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after == before {
			t.Errorf("MainPID after systemctl restart docker = %d, the same as before", after)
		}

		// DaemonLog reads the journal: both starts of dockerd, systemd's
		// own lines about the unit.
		log, err := d.DaemonLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(log, "API listen on"); n < 2 || !strings.Contains(log, "Started docker.service") && !strings.Contains(log, "Started Docker Application Container Engine") {
			t.Errorf("DaemonLog has %d dockerd starts (want 2) and no systemd start line:\n%s", n, log)
		}
		if got := d.DaemonLogName(); got != "journalctl -u docker.service" {
			t.Errorf("DaemonLogName() = %q", got)
		}
	})
}

func TestSystemdRestartDaemonPicksUpConfigAndFlags(t *testing.T) {
	harness.ForEachImage(t, harness.Systemd, func(t *testing.T, img harness.Image) {
		ctx := systemdCtx(t)
		d := harness.Start(t, img.Ref, harness.WithDockerdFlags("--label=from-flag=1"))

		// The flags are a drop-in that keeps the unit's own ExecStart.
		svc := unitProps(t, ctx, d, harness.DockerService, "ExecStart", "DropInPaths")
		if svc["DropInPaths"] != harness.DockerdFlagsDropIn || !strings.Contains(svc["ExecStart"], "-H fd://") ||
			!strings.Contains(svc["ExecStart"], "--label=from-flag=1") {
			t.Errorf("docker.service with WithDockerdFlags = %v; want the drop-in %s and ExecStart with -H fd:// and the flag", svc, harness.DockerdFlagsDropIn)
		}
		info := func() string {
			return d.MustExec(t, "docker", "info", "--format", "{{.Debug}} {{json .Labels}}")
		}
		if got := info(); got != `false ["from-flag=1"]` {
			t.Errorf("debug and labels = %s, want debug off and the label from WithDockerdFlags", got)
		}

		// More restarts than Debian's StartLimitBurst (3 in 60 s) allows:
		// RestartDaemon resets the count, as an administrator would.
		pids := map[int]bool{}
		for i := range 4 {
			if i == 3 {
				if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{"debug": true}`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.RestartDaemon(ctx); err != nil {
				t.Fatalf("restart %d: %v", i+1, err)
			}
			pid, err := d.DaemonPID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pids[pid] {
				t.Errorf("restart %d: MainPID %d seen before", i+1, pid)
			}
			pids[pid] = true
		}
		if got := info(); got != `true ["from-flag=1"]` {
			t.Errorf("debug and labels after restart = %s, want debug on and the label from the flags", got)
		}

		// A broken config: the restart fails at once, naming the unit's
		// state and the journal, and docker stays down, as on a server.
		if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{"labels": [`), 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := d.RestartDaemon(ctx)
		if err == nil || !strings.Contains(err.Error(), "ActiveState=") || !strings.Contains(err.Error(), "journal ends") {
			t.Fatalf("RestartDaemon with a broken daemon.json: err = %v; want one with the unit's state and the journal", err)
		}
		t.Logf("failed restart returned in %v: %v", time.Since(start).Round(time.Millisecond), err)
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = d.WaitDaemon(short)
		cancel()
		if err == nil {
			t.Error("WaitDaemon after a failed start succeeded; want docker down until restarted")
		}

		// Flags changed in the drop-in and a good config: RestartDaemon
		// reloads systemd and brings docker back.
		if err := d.WriteFile(ctx, harness.DaemonJSONPath, []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
		dropIn := d.MustExec(t, "cat", harness.DockerdFlagsDropIn)
		dropIn = strings.ReplaceAll(dropIn, "--label=from-flag=1", "--label=from-flag=2")
		if err := d.WriteFile(ctx, harness.DockerdFlagsDropIn, []byte(dropIn+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.RestartDaemon(ctx); err != nil {
			t.Fatalf("daemon did not come back after the config was repaired: %v", err)
		}
		if got := info(); got != `false ["from-flag=2"]` {
			t.Errorf("debug and labels after the repair = %s, want debug off and the drop-in's new label", got)
		}
		log, err := d.DaemonLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, "Failed to start") && !strings.Contains(log, "Failed with result") {
			t.Errorf("journal does not record the failed start:\n%s", log)
		}
	})
}

func TestSystemdHostsAreReachableAsContexts(t *testing.T) {
	harness.ForEachImage(t, harness.Systemd, func(t *testing.T, img harness.Image) {
		ctx := systemdCtx(t)
		hosts := harness.StartHosts(t, img.Ref, 1, harness.WithDockerdFlags("--debug"))
		d := hosts[0]
		cfg := t.TempDir()
		if err := harness.CreateContext(ctx, cfg, "h1", d); err != nil {
			t.Fatal(err)
		}
		out, err := hostCLI(ctx, cfg, "--context", "h1", "info", "--format", "{{.Debug}} {{.ID}}")
		if err != nil {
			t.Fatal(err)
		}
		inside := d.MustExec(t, "docker", "info", "--format", "{{.Debug}} {{.ID}}")
		if out != inside || !strings.HasPrefix(out, "true ") {
			t.Errorf("info through the host socket = %q, inside = %q; want the same daemon, with --debug", out, inside)
		}
		// docker.socket still serves the default socket.
		if svc := unitProps(t, ctx, d, harness.DockerService, "ExecStart"); !strings.Contains(svc["ExecStart"], "-H fd://") {
			t.Errorf("ExecStart with the host socket = %s; want -H fd:// kept", svc["ExecStart"])
		}
		if err := d.RestartDaemon(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := hostCLI(ctx, cfg, "--context", "h1", "version"); err != nil {
			t.Errorf("host socket after a restart: %v", err)
		}
	})
}
