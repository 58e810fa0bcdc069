package harness

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// daemonPollInterval is how often the daemon's state is polled.
const daemonPollInterval = 100 * time.Millisecond

// DaemonTimeout bounds WaitDaemon and RestartDaemon when ctx has no deadline.
const DaemonTimeout = 60 * time.Second

// stopGrace is how long RestartDaemon lets dockerd shut down on TERM (it
// stops its containers first) before it kills it.
const stopGrace = 5 * time.Second

// DaemonPID returns the pid of the running inner dockerd, from its pidfile.
func (d *DinD) DaemonPID(ctx context.Context) (int, error) {
	b, err := d.ReadFile(ctx, DaemonPIDPath)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read %s: %q is not a pid", DaemonPIDPath, b)
	}
	return pid, nil
}

// WaitDaemon waits until the inner daemon answers `docker version`.
func (d *DinD) WaitDaemon(ctx context.Context) error {
	_, err := d.waitDaemon(ctx, 0)
	return err
}

// RestartDaemon stops the inner dockerd (TERM, KILL after a grace period)
// and waits until a new dockerd, started by the entry script with the
// current daemon.json and flags, answers `docker version`. A daemon that cannot start (a bad daemon.json) makes it fail
// at the deadline with the end of the daemon log; the entry script keeps
// retrying, so restoring a good config and calling WaitDaemon recovers.
func (d *DinD) RestartDaemon(ctx context.Context) error {
	old, err := d.DaemonPID(ctx)
	if err != nil {
		// Not running (a failed start): the entry script is already retrying.
		_, err = d.waitDaemon(ctx, 0)
		return err
	}
	// One shell so the grace period costs no round trips.
	script := fmt.Sprintf(`kill -TERM %[1]d 2>/dev/null || exit 0
for _ in $(seq %[2]d); do kill -0 %[1]d 2>/dev/null || exit 0; sleep 0.1; done
kill -KILL %[1]d 2>/dev/null; exit 0`, old, int(stopGrace/(100*time.Millisecond)))
	if _, err := d.ExecOK(ctx, "sh", "-c", script); err != nil {
		return fmt.Errorf("restart dockerd: stop pid %d: %w", old, err)
	}
	if _, err := d.waitDaemon(ctx, old); err != nil {
		return fmt.Errorf("restart dockerd: %w", err)
	}
	return nil
}

// waitDaemon polls until a dockerd whose pid is not notPID answers.
func (d *DinD) waitDaemon(ctx context.Context, notPID int) (int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DaemonTimeout)
		defer cancel()
	}
	var last error
	for {
		pid, err := d.DaemonPID(ctx)
		if err == nil && pid == notPID {
			err = fmt.Errorf("dockerd pid %d still running", pid)
		}
		if err == nil {
			// Not `docker info --format`: the 26.1 CLI exits 0 with it
			// when no daemon answers.
			var out string
			out, err = d.ExecOK(ctx, "docker", "version", "--format", "{{.Server.Version}}")
			if err == nil && strings.TrimSpace(out) != "" {
				return pid, nil
			}
			if err == nil {
				err = fmt.Errorf("docker version printed no server version")
			}
		}
		last = err
		select {
		case <-ctx.Done():
			err := fmt.Errorf("wait for dockerd: %w (last: %v)", ctx.Err(), last)
			if tail := d.daemonLogTail(context.WithoutCancel(ctx), 5); tail != "" {
				err = fmt.Errorf("%w; dockerd log ends: %s", err, tail)
			}
			return 0, err
		case <-time.After(daemonPollInterval):
		}
	}
}

// DaemonLog returns everything the inner dockerd (and the entry script
// supervising it) logged since the container started.
func (d *DinD) DaemonLog(ctx context.Context) (string, error) {
	b, err := d.ReadFile(ctx, DaemonLogPath)
	return string(b), err
}

// daemonLogTail returns the last n lines of the daemon log on one line, for
// error messages; empty when the log cannot be read.
func (d *DinD) daemonLogTail(ctx context.Context, n int) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	log, err := d.DaemonLog(ctx)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
