package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fallback when systemd's sockets cannot be reached but systemctl
// runs (this process is on the host itself): `systemctl show` prints the
// same D-Bus properties as text, and `systemctl restart` waits for the same
// job; its exit status and the unit's Result say how the job ended.

// showProperties are the properties UnitState is read from: the keys of
// showFields, in a fixed order for the command line.
var showProperties = func() []string {
	keys := slices.Collect(maps.Keys(showFields(&UnitState{})))
	slices.Sort(keys)
	return keys
}()

// showState runs `systemctl show UNIT --timestamp=unix -p ...`.
func (u Unit) showState(ctx context.Context) (UnitState, error) {
	bin, err := lookPath("systemctl")
	if err != nil {
		return UnitState{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "show", u.name(), "--timestamp=unix", "-p", strings.Join(showProperties, ",")).Output()
	if err != nil {
		return UnitState{}, fmt.Errorf("systemctl show %s: %w", u.name(), err)
	}
	return ParseShow(string(out))
}

// ParseShow reads `systemctl show --timestamp=unix` output (KEY=VALUE
// lines) into a UnitState: time spans as systemd prints them ("100ms",
// "1min 30s", "infinity"), lists separated by spaces, and ExecStart in its
// "{ path=... ; argv[]=... ; ... }" form (argv[] is joined by spaces:
// an argument with a space in it cannot be told apart).
func ParseShow(text string) (UnitState, error) {
	var s UnitState
	set := showFields(&s)
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var errs []error
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if parse, known := set[key]; known {
			if err := parse(value); err != nil {
				errs = append(errs, fmt.Errorf("systemctl show: %s=%s: %w", key, value, err))
			}
		}
	}
	return s, errors.Join(errs...)
}

// showFields says, for each property `systemctl show` prints, how its text
// is read into s.
func showFields(s *UnitState) map[string]func(string) error {
	text := func(dst *string) func(string) error {
		return func(v string) error { *dst = v; return nil }
	}
	list := func(dst *[]string) func(string) error {
		return func(v string) error { *dst = fields(v); return nil }
	}
	count := func(dst *uint32) func(string) error {
		return func(v string) (err error) { *dst, err = parseUint32(v); return err }
	}
	span := func(dst *time.Duration) func(string) error {
		return func(v string) (err error) { *dst, err = ParseTimespan(v); return err }
	}
	return map[string]func(string) error{
		"ActiveState":            text(&s.ActiveState),
		"SubState":               text(&s.SubState),
		"Result":                 text(&s.Result),
		"LoadState":              text(&s.LoadState),
		"InvocationID":           text(&s.InvocationID),
		"FragmentPath":           text(&s.FragmentPath),
		"Restart":                text(&s.Restart),
		"DropInPaths":            list(&s.DropInPaths),
		"TriggeredBy":            list(&s.TriggeredBy),
		"MainPID":                count(&s.MainPID),
		"NRestarts":              count(&s.NRestarts),
		"StartLimitBurst":        count(&s.StartLimitBurst),
		"RestartUSec":            span(&s.RestartSec),
		"TimeoutStartUSec":       span(&s.TimeoutStartSec),
		"StartLimitIntervalUSec": span(&s.StartLimitSec),
		"ExecMainStartTimestamp": func(v string) (err error) { s.Started, err = unixTimestamp(v); return err },
		"ExecStart":              func(v string) error { s.ExecStart = showArgv(v); return nil },
	}
}

// unixTimestamp reads "@1700000000" (--timestamp=unix); an empty value or
// "@0", a unit that never started, is the zero time.
func unixTimestamp(v string) (time.Time, error) {
	n, ok := strings.CutPrefix(v, "@")
	if !ok {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(n, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, err
	}
	return time.Unix(sec, 0).UTC(), nil
}

// fields splits a list; an empty one is nil, as D-Bus gives it.
func fields(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

func parseUint32(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// showArgv takes argv[] out of "{ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd
// -H fd:// ; ignore_errors=no ; ... }" (the first command).
func showArgv(v string) []string {
	_, rest, ok := strings.Cut(v, "argv[]=")
	if !ok {
		return nil
	}
	argv, _, _ := strings.Cut(rest, " ; ")
	return fields(argv)
}

// timespanUnits are the units systemd prints time spans in.
var timespanUnits = map[string]time.Duration{
	"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "min": time.Minute,
	"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

// ParseTimespan reads a span as systemctl prints it: "100ms", "2s",
// "1min 30s", "0"; "infinity" is 0 (no bound), as UnitState keeps it.
func ParseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "infinity" || s == "" || s == "0" {
		return 0, nil
	}
	var total time.Duration
	for _, part := range strings.Fields(s) {
		i := strings.IndexFunc(part, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, fmt.Errorf("time span %q: %q has no number and unit", s, part)
		}
		unit, ok := timespanUnits[part[i:]]
		if !ok {
			return 0, fmt.Errorf("time span %q: unknown unit %q", s, part[i:])
		}
		n, err := strconv.ParseFloat(part[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("time span %q: %w", s, err)
		}
		total += time.Duration(n * float64(unit))
	}
	return total, nil
}

// systemctlJob is job() through systemctl: reset-failed first for a
// restart, then the job, bounded by within; a failed job is named by the
// unit's Result.
func (u Unit) systemctlJob(ctx context.Context, within time.Duration, kind string) error {
	bin, err := lookPath("systemctl")
	if err != nil {
		return err
	}
	if kind == "restart" {
		if st, err := u.showState(ctx); err == nil {
			for _, name := range append([]string{u.name()}, st.TriggeredBy...) {
				_ = exec.CommandContext(ctx, bin, "reset-failed", name).Run()
			}
		}
	}
	jobCtx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	out, err := exec.CommandContext(jobCtx, bin, kind, u.name()).CombinedOutput()
	switch {
	case jobCtx.Err() == context.DeadlineExceeded:
		return fmt.Errorf("%s %s: %w within %s", kind, u.name(), ErrStartHangs, within)
	case err != nil:
		st, _ := u.showState(context.WithoutCancel(ctx))
		return fmt.Errorf("%s %s: systemctl %s: %v: %s (%s)", kind, u.name(), kind, err, strings.TrimSpace(firstLine(string(out))), st.describe())
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
