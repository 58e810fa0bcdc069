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

// Flavour tells how the container runs its inner dockerd (from the image's
// label): Supervised or Systemd.
func (d *DinD) Flavour() Flavour {
	if d == nil || d.flavour == "" {
		return Supervised
	}
	return d.flavour
}

// DaemonPID returns the pid of the running inner dockerd: from its pidfile
// in the supervised flavour, docker.service's MainPID under systemd.
func (d *DinD) DaemonPID(ctx context.Context) (int, error) {
	if d.Flavour() == Systemd {
		out, err := d.ExecOK(ctx, "systemctl", "show", "--property=MainPID", "--value", DockerService)
		if err != nil {
			return 0, fmt.Errorf("read MainPID of %s: %w", DockerService, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			return 0, fmt.Errorf("read MainPID of %s: %q is not a pid", DockerService, out)
		}
		if pid == 0 {
			return 0, fmt.Errorf("read MainPID of %s: no main process: %s", DockerService, d.unitState(ctx))
		}
		return pid, nil
	}
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

// unitState describes docker.service's state for error messages, e.g.
// "ActiveState=failed SubState=failed Result=start-limit-hit".
func (d *DinD) unitState(ctx context.Context) string {
	out, err := d.ExecOK(ctx, "systemctl", "show", "--property=ActiveState,SubState,Result", DockerService)
	if err != nil {
		return "state unknown: " + err.Error()
	}
	return strings.Join(strings.Fields(out), " ")
}

// WaitDaemon waits until the inner daemon answers `docker version`. It only
// waits: a supervised daemon comes back by itself, the entry script keeps
// starting it; under systemd a docker.service that failed (a bad config, a
// start limit hit) stays down, as on a server, until RestartDaemon or a
// `systemctl start docker`.
func (d *DinD) WaitDaemon(ctx context.Context) error {
	_, err := d.waitDaemon(ctx, 0)
	return err
}

// RestartDaemon restarts the inner dockerd and waits until a new dockerd,
// with the current daemon.json and flags, answers `docker version`.
//
// Supervised: it stops dockerd (TERM, KILL after a grace period) and the
// entry script starts it again; a daemon that cannot start (a bad
// daemon.json) makes it fail at the deadline with the end of the daemon
// log; the entry script keeps retrying, so restoring a good config and
// calling WaitDaemon recovers.
//
// Systemd: as an administrator would, `systemctl daemon-reload` (a drop-in
// may have changed), `systemctl reset-failed` (so Debian's StartLimitBurst
// cannot refuse the harness's own restarts) and `systemctl restart docker`,
// whose job ends when dockerd is ready or has failed; a failure is returned
// at once with the unit's state and the end of the journal, and the daemon
// stays down until the next RestartDaemon.
func (d *DinD) RestartDaemon(ctx context.Context) error {
	old, err := d.DaemonPID(ctx)
	if d.Flavour() == Systemd {
		if err != nil {
			old = 0
		}
		return d.restartUnit(ctx, old)
	}
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

// restartUnit restarts docker.service through systemctl and waits for a
// dockerd other than pid old to answer.
func (d *DinD) restartUnit(ctx context.Context, old int) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DaemonTimeout)
		defer cancel()
	}
	script := "systemctl daemon-reload && systemctl reset-failed " + DockerService + " " + DockerSocket +
		" 2>/dev/null; systemctl restart " + DockerService
	if _, err := d.ExecOK(ctx, "sh", "-c", script); err != nil {
		err = fmt.Errorf("restart %s: %w; %s", DockerService, err, d.unitState(context.WithoutCancel(ctx)))
		if tail := d.daemonLogTail(context.WithoutCancel(ctx), 5); tail != "" {
			err = fmt.Errorf("%w; journal ends: %s", err, tail)
		}
		return err
	}
	if _, err := d.waitDaemon(ctx, old); err != nil {
		return fmt.Errorf("restart %s: %w", DockerService, err)
	}
	return nil
}

// waitDaemon waits until a dockerd whose pid is not notPID answers, with
// one command in the container (waitDaemonScript): polling from here would
// cost a docker exec and a file copy every round, which on 2 cores slowed
// the very daemon being waited for.
func (d *DinD) waitDaemon(ctx context.Context, notPID int) (int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DaemonTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	secs := max(int(time.Until(deadline).Seconds()), 1)
	res, err := d.Exec(ctx, "sh", "-c", waitDaemonScript, "sh", strconv.Itoa(notPID), strconv.Itoa(secs), string(d.Flavour()))
	if err == nil && res.ExitCode == 0 {
		pid, perr := strconv.Atoi(strings.TrimSpace(res.Stdout))
		if perr == nil {
			return pid, nil
		}
		err = fmt.Errorf("%q is not a pid", res.Stdout)
	}
	if err == nil {
		err = fmt.Errorf("timed out after %ds (last: %s)", secs, strings.TrimSpace(res.Stderr))
	}
	err = fmt.Errorf("wait for dockerd: %w", err)
	if tail := d.daemonLogTail(context.WithoutCancel(ctx), 5); tail != "" {
		err = fmt.Errorf("%w; %s ends: %s", err, d.DaemonLogName(), tail)
	}
	return 0, err
}

// waitDaemonScript polls, inside the container, until a dockerd other than
// pid $1 answers `docker version`, for at most $2 seconds; $3 is the
// flavour. It prints that dockerd's pid, or, at the deadline, what it saw
// last on stderr and exits 1. The pid comes from the pidfile, or from
// docker.service's MainPID once systemd has booted (running, or degraded
// when a unit failed). Not `docker info --format`: the 26.1 CLI exits 0
// with it when no daemon answers.
const waitDaemonScript = `old=$1 end=$(($(date +%s) + $2))
while :; do
	pid= last=
	if [ "$3" = systemd ]; then
		case $(systemctl is-system-running 2>/dev/null) in
		running | degraded) pid=$(systemctl show --property=MainPID --value docker.service 2>/dev/null) ;;
		*) last="systemd still booting" ;;
		esac
	else
		pid=$(cat /var/run/docker.pid 2>/dev/null)
	fi
	case $pid in
	'' | 0) last=${last:-"no dockerd running"} ;;
	"$old") last="dockerd pid $pid still running" ;;
	*)
		if v=$(docker version --format '{{.Server.Version}}' 2>&1) && [ -n "$v" ]; then
			echo "$pid"
			exit 0
		fi
		last="docker version: $v"
		;;
	esac
	if [ "$(date +%s)" -ge "$end" ]; then
		echo "$last" >&2
		exit 1
	fi
	sleep 0.1
done`

// DaemonLog returns everything the inner dockerd logged since the container
// started: in the supervised flavour DaemonLogPath (with the entry script's
// own lines), under systemd the journal of docker.service (`journalctl -u
// docker.service`: dockerd's lines and systemd's about the unit, such as
// "Start request repeated too quickly").
func (d *DinD) DaemonLog(ctx context.Context) (string, error) {
	if d.Flavour() == Systemd {
		out, err := d.ExecOK(ctx, "journalctl", "--unit="+DockerService, "--no-pager", "--quiet", "--output=short-iso")
		if err != nil {
			return "", fmt.Errorf("read the journal of %s: %w", DockerService, err)
		}
		return out, nil
	}
	b, err := d.ReadFile(ctx, DaemonLogPath)
	return string(b), err
}

// DaemonLogName says where DaemonLog reads, for messages: DaemonLogPath or
// "journalctl -u docker.service".
func (d *DinD) DaemonLogName() string {
	if d.Flavour() == Systemd {
		return "journalctl -u " + DockerService
	}
	return DaemonLogPath
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
