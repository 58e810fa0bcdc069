package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// DockerUnit is the unit Debian's, Docker's and most distributions'
// packages run dockerd as.
const DockerUnit = "docker.service"

// Unit reaches one systemd unit of the host under Root through systemd's
// own D-Bus API (its private socket, or the system bus): jobs whose result
// is read, not `systemctl` output. Under another root (a helper
// container's /host) it talks to the host's systemd through the sockets
// of that root.
type Unit struct {
	Root string
	Name string
}

// JobResult is how systemd says a job ended: done, canceled, timeout,
// failed, dependency or skipped.
type JobResult string

// JobDone is the result of a job that did what it was asked.
const JobDone JobResult = "done"

// ErrStartHangs is returned when a start job did not finish within the
// caller's bound: docker.service has TimeoutStartSec=0, so systemd itself
// would wait forever for a dockerd that never says it is ready.
var ErrStartHangs = errors.New("the start job did not finish")

// UnitState is what systemd says about a unit.
type UnitState struct {
	ActiveState string `json:"activeState"`
	SubState    string `json:"subState"`
	// Result is the last run's result: success, exit-code,
	// start-limit-hit, timeout, ...
	Result       string `json:"result"`
	InvocationID string `json:"invocationId,omitempty"`
	MainPID      uint32 `json:"mainPid,omitempty"`
	// Started is ExecMainStartTimestamp: when the current main process
	// was started (zero when none).
	Started      time.Time `json:"started,omitzero"`
	NRestarts    uint32    `json:"nRestarts,omitempty"`
	FragmentPath string    `json:"fragmentPath,omitempty"`
	DropInPaths  []string  `json:"dropInPaths,omitempty"`
	// ExecStart is the first ExecStart= command line (argv), as the unit
	// files give it after every drop-in.
	ExecStart []string `json:"execStart,omitempty"`
	// Restart, RestartSec, TimeoutStartSec and the start limit are the
	// unit's promises as they are in force (they differ by release).
	Restart         string        `json:"restart,omitempty"`
	RestartSec      time.Duration `json:"restartSec,omitempty"`
	TimeoutStartSec time.Duration `json:"timeoutStartSec,omitempty"`
	StartLimitBurst uint32        `json:"startLimitBurst,omitempty"`
	StartLimitSec   time.Duration `json:"startLimitSec,omitempty"`
	// TriggeredBy lists the units that start this one on demand
	// (docker.socket: socket activation).
	TriggeredBy []string `json:"triggeredBy,omitempty"`
	LoadState   string   `json:"loadState"`
}

// Loaded is true for a unit systemd knows from a unit file.
func (s UnitState) Loaded() bool { return s.LoadState == "loaded" }

// SocketActivated is true when a socket unit triggers the service: then
// the socket stays open across a restart and clients never see it go down.
func (s UnitState) SocketActivated() bool {
	for _, t := range s.TriggeredBy {
		if strings.HasSuffix(t, ".socket") {
			return true
		}
	}
	return false
}

// busAddresses are systemd's private socket (root only, no dbus-daemon
// needed) and the system bus, under root.
func busAddresses(root string) []struct {
	path  string
	hello bool
} {
	return []struct {
		path  string
		hello bool
	}{
		{filepath.Join(root, "/run/systemd/private"), false},
		{filepath.Join(root, "/run/dbus/system_bus_socket"), true},
	}
}

// SystemdBooted is true when the host under root runs systemd as init.
func SystemdBooted(root string) bool {
	st, err := os.Stat(filepath.Join(root, "/run/systemd/system"))
	return err == nil && st.IsDir()
}

// connect opens a connection to the host's systemd.
func (u Unit) connect(ctx context.Context) (*sdbus.Conn, error) {
	var errs []error
	for _, addr := range busAddresses(u.root()) {
		if _, err := os.Stat(addr.path); err != nil {
			continue
		}
		conn, err := sdbus.NewConnection(func() (*godbus.Conn, error) {
			c, err := godbus.Dial("unix:path="+addr.path, godbus.WithContext(ctx))
			if err != nil {
				return nil, err
			}
			if err := c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
				c.Close()
				return nil, err
			}
			if addr.hello {
				if err := c.Hello(); err != nil {
					c.Close()
					return nil, err
				}
			}
			return c, nil
		})
		if err == nil {
			return conn, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr.path, err))
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("connect to systemd: no socket at %s or %s", busAddresses(u.root())[0].path, busAddresses(u.root())[1].path)
	}
	return nil, fmt.Errorf("connect to systemd: %w", errors.Join(errs...))
}

func (u Unit) root() string {
	if u.Root == "" {
		return "/"
	}
	return u.Root
}

// onThisHost: the unit's root is this process's own, where systemctl
// reaches the same systemd.
func (u Unit) onThisHost() bool { return filepath.Clean(u.root()) == "/" }

func (u Unit) name() string {
	if u.Name == "" {
		return DockerUnit
	}
	return u.Name
}

// State reads the unit's state and settings.
func (u Unit) State(ctx context.Context) (UnitState, error) {
	conn, err := u.connect(ctx)
	if err != nil {
		if u.onThisHost() {
			if st, showErr := u.showState(ctx); showErr == nil {
				return st, nil
			}
		}
		return UnitState{}, err
	}
	defer conn.Close()
	return u.state(ctx, conn)
}

func (u Unit) state(ctx context.Context, conn *sdbus.Conn) (UnitState, error) {
	props, err := conn.GetAllPropertiesContext(ctx, u.name())
	if err != nil {
		return UnitState{}, fmt.Errorf("ask systemd about %s: %w", u.name(), err)
	}
	return stateOf(props), nil
}

// stateOf reads the D-Bus properties of a unit (Unit and Service
// interfaces merged, as GetAll with no interface returns them).
func stateOf(props map[string]any) UnitState {
	str := func(k string) string { s, _ := props[k].(string); return s }
	u32 := func(k string) uint32 { n, _ := props[k].(uint32); return n }
	usec := func(k string) time.Duration {
		n, _ := props[k].(uint64)
		if n == ^uint64(0) { // infinity
			return 0
		}
		return time.Duration(n) * time.Microsecond
	}
	strs := func(k string) []string { s, _ := props[k].([]string); return s }
	s := UnitState{
		ActiveState: str("ActiveState"), SubState: str("SubState"), Result: str("Result"),
		LoadState: str("LoadState"), MainPID: u32("MainPID"), NRestarts: u32("NRestarts"),
		FragmentPath: str("FragmentPath"), DropInPaths: strs("DropInPaths"),
		Restart: str("Restart"), RestartSec: usec("RestartUSec"), TimeoutStartSec: usec("TimeoutStartUSec"),
		StartLimitBurst: u32("StartLimitBurst"), StartLimitSec: usec("StartLimitIntervalUSec"),
		TriggeredBy: strs("TriggeredBy"),
		ExecStart:   ExecStartArgv(props["ExecStart"]),
	}
	if id, ok := props["InvocationID"].([]byte); ok && len(id) > 0 {
		s.InvocationID = fmt.Sprintf("%x", id)
	}
	if t, ok := props["ExecMainStartTimestamp"].(uint64); ok && t > 0 {
		s.Started = time.UnixMicro(int64(t)).UTC()
	}
	return s
}

// ExecStartArgv returns the argv of the first command of an ExecStart
// property as D-Bus gives it: a(sasbttttuii), each command a struct of
// path, argv, ignore-errors and times.
func ExecStartArgv(v any) []string {
	cmds, ok := v.([][]any)
	if !ok || len(cmds) == 0 || len(cmds[0]) < 2 {
		return nil
	}
	argv, _ := cmds[0][1].([]string)
	return argv
}

// ResetFailed clears the unit's failed state and its start-rate counter,
// and those of the sockets that trigger it (a socket whose service hit
// the start limit fails too and stops listening). Before every restart
// the host agent depends on: Debian's docker.service allows 3 starts in
// 60 s, and after boot plus two restarts systemd refuses the next one.
func (u Unit) ResetFailed(ctx context.Context) error {
	conn, err := u.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return u.resetFailed(ctx, conn)
}

func (u Unit) resetFailed(ctx context.Context, conn *sdbus.Conn) error {
	st, err := u.state(ctx, conn)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range append([]string{u.name()}, st.TriggeredBy...) {
		if err := conn.ResetFailedUnitContext(ctx, name); err != nil && !isNotFailed(err) {
			errs = append(errs, fmt.Errorf("reset-failed %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// isNotFailed: systemd answers ResetFailedUnit on a unit that is not
// loaded with an error; nothing to reset then.
func isNotFailed(err error) bool {
	var de godbus.Error
	return errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit"
}

// Restart resets the unit's failed state and restarts it as one job,
// waiting at most within for the job's result. A start that does not
// finish in time (dockerd never says ready, and the unit does not bound
// the start) returns ErrStartHangs: the job is left queued for the caller
// to stop. A result other than done is an error that names the result.
func (u Unit) Restart(ctx context.Context, within time.Duration) error {
	return u.job(ctx, within, "restart")
}

// Stop stops the unit (canceling a start job that hangs) and waits for it.
func (u Unit) Stop(ctx context.Context, within time.Duration) error {
	return u.job(ctx, within, "stop")
}

func (u Unit) job(ctx context.Context, within time.Duration, kind string) error {
	conn, err := u.connect(ctx)
	if err != nil {
		if u.onThisHost() {
			return u.systemctlJob(ctx, within, kind)
		}
		return err
	}
	defer conn.Close()
	if kind == "restart" {
		if err := u.resetFailed(ctx, conn); err != nil {
			return err
		}
	}
	done := make(chan string, 1)
	start := conn.RestartUnitContext
	if kind == "stop" {
		start = conn.StopUnitContext
	}
	if _, err := start(ctx, u.name(), "replace", done); err != nil {
		return fmt.Errorf("%s %s: %w", kind, u.name(), err)
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case res := <-done:
		if JobResult(res) == JobDone {
			return nil
		}
		st, _ := u.state(context.WithoutCancel(ctx), conn)
		return fmt.Errorf("%s %s: the job's result is %q (%s)", kind, u.name(), res, st.describe())
	case <-timer.C:
		return fmt.Errorf("%s %s: %w within %s", kind, u.name(), ErrStartHangs, within)
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", kind, u.name(), ctx.Err())
	}
}

// describe words a unit's state as systemctl status does: "failed
// (Result: start-limit-hit)".
func (s UnitState) describe() string {
	if s.ActiveState == "" {
		return "state unknown"
	}
	if s.Result != "" && s.Result != "success" {
		return fmt.Sprintf("%s (Result: %s)", s.ActiveState, s.Result)
	}
	return s.ActiveState
}
