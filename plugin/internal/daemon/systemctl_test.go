package daemon

import (
	"reflect"
	"testing"
	"time"
)

// `systemctl show docker.service --timestamp=unix -p ...` on Debian
// bookworm (systemd 252, docker.io 20.10) with the seed's drop-in under
// /run, seen on 2026-11-28.
const bookwormShow = `Restart=on-failure
RestartUSec=100ms
TimeoutStartUSec=infinity
MainPID=4128
Result=success
NRestarts=0
ExecMainStartTimestamp=@1795846063
ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// --userns-remap=agent:agent ; ignore_errors=no ; start_time=[@1795846063] ; stop_time=[n/a] ; pid=4128 ; code=(null) ; status=0/0 }
TriggeredBy=docker.socket
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/docker.service
DropInPaths=/run/systemd/system/docker.service.d/remap.conf /etc/systemd/system/docker.service.d/zz.conf
StartLimitIntervalUSec=1min
StartLimitBurst=3
InvocationID=42af7db3df3247cd9b08b0544b178762
`

func TestParseShowBookworm(t *testing.T) {
	st, err := ParseShow(bookwormShow)
	if err != nil {
		t.Fatal(err)
	}
	want := UnitState{
		ActiveState: "active", SubState: "running", Result: "success", LoadState: "loaded",
		InvocationID: "42af7db3df3247cd9b08b0544b178762", MainPID: 4128,
		Started:      time.Unix(1795846063, 0).UTC(),
		FragmentPath: "/lib/systemd/system/docker.service",
		DropInPaths:  []string{"/run/systemd/system/docker.service.d/remap.conf", "/etc/systemd/system/docker.service.d/zz.conf"},
		ExecStart:    []string{"/usr/sbin/dockerd", "-H", "fd://", "--userns-remap=agent:agent"},
		Restart:      "on-failure", RestartSec: 100 * time.Millisecond,
		StartLimitBurst: 3, StartLimitSec: time.Minute,
		TriggeredBy: []string{"docker.socket"},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("ParseShow:\n got %+v\nwant %+v", st, want)
	}
}

// A unit that failed and has no main process: empty values, "n/a" and no
// ExecStart are not errors.
func TestParseShowFailedUnit(t *testing.T) {
	st, err := ParseShow("ActiveState=failed\nSubState=failed\nResult=start-limit-hit\nMainPID=0\nExecMainStartTimestamp=n/a\nDropInPaths=\nExecStart=\nRestartUSec=2s\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.describe() != "failed (Result: start-limit-hit)" || st.MainPID != 0 || !st.Started.IsZero() || st.DropInPaths != nil || st.ExecStart != nil || st.RestartSec != 2*time.Second {
		t.Errorf("ParseShow = %+v", st)
	}
	if _, err := ParseShow("MainPID=lots\n"); err == nil {
		t.Error("MainPID=lots: want an error")
	}
}

func TestParseTimespan(t *testing.T) {
	tests := map[string]time.Duration{
		"100ms": 100 * time.Millisecond, "2s": 2 * time.Second, "1min": time.Minute,
		"1min 30s": 90 * time.Second, "1h 2min": 62 * time.Minute, "infinity": 0, "0": 0,
		"500us": 500 * time.Microsecond, "1.5s": 1500 * time.Millisecond,
	}
	for in, want := range tests {
		got, err := ParseTimespan(in)
		if err != nil || got != want {
			t.Errorf("ParseTimespan(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"ms", "3 parsecs", "1fortnight"} {
		if _, err := ParseTimespan(bad); err == nil {
			t.Errorf("ParseTimespan(%q): want an error", bad)
		}
	}
}
