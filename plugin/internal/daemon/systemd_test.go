package daemon

import (
	"reflect"
	"testing"
	"time"
)

// The properties as go-systemd's GetAllProperties returns them for Debian
// bookworm's docker.service (values seen on 2026-11-28), with a drop-in.
func TestStateOfDBusProperties(t *testing.T) {
	props := map[string]any{
		"ActiveState": "active", "SubState": "running", "Result": "success", "LoadState": "loaded",
		"InvocationID":           []byte{0xcd, 0x4e, 0x83, 0xbc, 0x5a, 0xef, 0x4a, 0x8c, 0x9f, 0x93, 0x7c, 0x4d, 0x36, 0xbf, 0x87, 0x93},
		"MainPID":                uint32(259),
		"ExecMainStartTimestamp": uint64(1795844546558327),
		"FragmentPath":           "/lib/systemd/system/docker.service",
		"DropInPaths":            []string{"/run/systemd/system/docker.service.d/remap.conf"},
		"ExecStart": [][]any{{
			"/usr/bin/dockerd",
			[]string{"/usr/bin/dockerd", "-H", "fd://", "--userns-remap=agent"},
			false, uint64(0), uint64(0), uint64(0), uint64(0), uint32(0), int32(0), int32(0),
		}},
		"Restart": "on-failure", "RestartUSec": uint64(100000),
		"TimeoutStartUSec":       ^uint64(0), // TimeoutStartSec=0: infinity
		"StartLimitBurst":        uint32(3),
		"StartLimitIntervalUSec": uint64(60000000),
		"TriggeredBy":            []string{"docker.socket"},
	}
	st := stateOf(props)
	want := UnitState{
		ActiveState: "active", SubState: "running", Result: "success", LoadState: "loaded",
		InvocationID: "cd4e83bc5aef4a8c9f937c4d36bf8793", MainPID: 259,
		Started:      time.Date(2026, 11, 28, 5, 42, 26, 558327000, time.UTC),
		FragmentPath: "/lib/systemd/system/docker.service",
		DropInPaths:  []string{"/run/systemd/system/docker.service.d/remap.conf"},
		ExecStart:    []string{"/usr/bin/dockerd", "-H", "fd://", "--userns-remap=agent"},
		Restart:      "on-failure", RestartSec: 100 * time.Millisecond,
		StartLimitBurst: 3, StartLimitSec: time.Minute,
		TriggeredBy: []string{"docker.socket"},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stateOf:\n got %+v\nwant %+v", st, want)
	}
	if !st.SocketActivated() || !st.Loaded() {
		t.Errorf("want loaded and socket-activated: %+v", st)
	}
	if got := (UnitState{ActiveState: "failed", Result: "start-limit-hit"}).describe(); got != "failed (Result: start-limit-hit)" {
		t.Errorf("describe = %q", got)
	}
}

func TestExecStartArgvOddShapes(t *testing.T) {
	for _, v := range []any{nil, "x", [][]any{}, [][]any{{"/usr/bin/dockerd"}}} {
		if got := ExecStartArgv(v); got != nil {
			t.Errorf("ExecStartArgv(%#v) = %q, want nil", v, got)
		}
	}
}
