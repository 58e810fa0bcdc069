package daemon

import "testing"

func TestParentPID(t *testing.T) {
	tests := map[string]int{
		"85 (dockerd) S 1 85 85 0 -1 4194560":       1,
		"412 (my (odd) name) S 37 412 37 0 -1 4194": 37,
		"garbage": 0,
		"9 (x)":   0,
	}
	for stat, want := range tests {
		if got := parentPID([]byte(stat)); got != want {
			t.Errorf("parentPID(%q) = %d, want %d", stat, got, want)
		}
	}
}

func TestClassifyParent(t *testing.T) {
	tests := []struct {
		ppid int
		comm string
		want ManagerKind
	}{
		{1, "systemd", ManagedByNothing}, // reparented, not the unit's
		{1, "init", ManagedByNothing},    // sysvinit's start-stop-daemon
		{0, "", ManagedByNothing},
		{1, "entry.sh", ManagedBySupervisor}, // the DinD entry loop as PID 1
		{733, "runsv", ManagedBySupervisor},
		{90, "bash", ManagedBySupervisor},
	}
	for _, tt := range tests {
		if got := classifyParent(tt.ppid, tt.comm); got != tt.want {
			t.Errorf("classifyParent(%d, %q) = %s, want %s", tt.ppid, tt.comm, got, tt.want)
		}
	}
}
