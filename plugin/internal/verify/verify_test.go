package verify

import (
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
)

func TestChecksCompareObservationWithExpectation(t *testing.T) {
	remapped := Expectation{Remapped: true, RootUID: 999, RootGID: 999,
		UIDMap: idmap.Map{{Container: 0, Host: 999, Size: 1}, {Container: 1, Host: 165536, Size: 65535}}}
	on := daemon.State{Remapped: true, DataRoot: "/var/lib/docker/999.999"}
	off := daemon.State{DataRoot: "/var/lib/docker"}

	cases := []struct {
		name string
		c    Check
		want bool
	}{
		{"remapped as expected", remapCheck(on, remapped), true},
		{"not remapped", remapCheck(off, remapped), false},
		{"data root of the root pair", dataRootCheck(on, remapped), true},
		{"data root of another pair", dataRootCheck(daemon.State{DataRoot: "/var/lib/docker/100000.100000"}, remapped), false},
		{"unremapped data root", dataRootCheck(off, Unremapped()), true},
		{"remapped data root when off expected", dataRootCheck(on, Unremapped()), false},
		{"same map", mapCheck("uid_map", remapped.UIDMap, "0 999 1\n1 165536 65535\n"), true},
		{"other map", mapCheck("uid_map", remapped.UIDMap, "0 999 1\n1 100000 65535\n"), false},
		{"identity vs plan", mapCheck("uid_map", remapped.UIDMap, "0 0 4294967295\n"), false},
		{"garbage", mapCheck("uid_map", remapped.UIDMap, "zero"), false},
	}
	for _, tc := range cases {
		if tc.c.OK != tc.want {
			t.Errorf("%s: OK=%v, want %v (%+v)", tc.name, tc.c.OK, tc.want, tc.c)
		}
	}
	if (Report{{OK: true}, {OK: false, Name: "x"}}).OK() {
		t.Error("a report with a failed check is not OK")
	}
}
