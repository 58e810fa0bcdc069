package daemon

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ManagerKind says what brings dockerd back after it exits.
type ManagerKind string

const (
	// ManagedBySystemd: docker.service runs the daemon.
	ManagedBySystemd ManagerKind = "systemd"
	// ManagedBySupervisor: a live parent process other than init started
	// dockerd (a shell loop, runsv, supervisord, s6, a DinD entry script)
	// and is expected to start it again.
	ManagedBySupervisor ManagerKind = "supervisor"
	// ManagedByNothing: dockerd's parent is init that is not running it as
	// a unit (it was started by hand, nohup or an init script and
	// reparented): once terminated, nothing starts it again.
	ManagedByNothing ManagerKind = "nothing"
	// ManagerUnknown: no daemon pid to look at.
	ManagerUnknown ManagerKind = "unknown"
	// ManagerNotLooked: the root is a tree, whose pids, systemd and
	// supervisors are not this machine's.
	ManagerNotLooked ManagerKind = "not looked for"
)

// Manager is how the daemon is managed on its host.
type Manager struct {
	Kind ManagerKind `json:"kind"`
	// Unit is docker.service's state under systemd.
	Unit *UnitState `json:"unit,omitempty"`
	// PID is dockerd's pid, Parent its parent's pid and command.
	PID        int    `json:"pid,omitempty"`
	Parent     int    `json:"parent,omitempty"`
	ParentComm string `json:"parentComm,omitempty"`
}

// String words the manager for doctor and errors.
func (m Manager) String() string {
	switch m.Kind {
	case ManagedBySystemd:
		u := m.Unit
		s := "systemd: " + DockerUnit
		if u.FragmentPath != "" {
			s += " from " + u.FragmentPath
		}
		if len(u.DropInPaths) > 0 {
			s += " with drop-ins " + strings.Join(u.DropInPaths, ", ")
		}
		if u.SocketActivated() {
			s += ", socket-activated by " + strings.Join(u.TriggeredBy, ", ")
		}
		return s + fmt.Sprintf(" (%s; Restart=%s after %s, start limit %d in %s)", u.describe(), u.Restart, u.RestartSec, u.StartLimitBurst, u.StartLimitSec)
	case ManagedBySupervisor:
		return fmt.Sprintf("a supervisor: dockerd (pid %d) runs under %s (pid %d), which is expected to start it again", m.PID, m.ParentComm, m.Parent)
	case ManagedByNothing:
		return fmt.Sprintf("nothing: dockerd (pid %d) was reparented to %s (pid %d), which will not start it again", m.PID, m.ParentComm, m.Parent)
	case ManagerNotLooked:
		return "not looked for: the root is a tree (--root), whose daemon is not this machine's"
	}
	return "unknown: no running dockerd found through its pidfile"
}

// Manager finds out what runs the daemon on the host under Root.
func (r Restarter) Manager(ctx context.Context) Manager {
	if r.Root.Tree() {
		return Manager{Kind: ManagerNotLooked}
	}
	if SystemdBooted(r.Root.Dir()) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if st, err := r.Unit().State(ctx); err == nil && st.Loaded() && st.ActiveState != "inactive" {
			return Manager{Kind: ManagedBySystemd, Unit: &st, PID: int(st.MainPID)}
		}
	}
	pid, err := r.DaemonPID()
	if err != nil || !r.Running() {
		return Manager{Kind: ManagerUnknown}
	}
	m := Manager{PID: pid}
	stat, err := r.readProc(pid, "stat")
	if err != nil {
		return Manager{Kind: ManagerUnknown}
	}
	m.Parent = parentPID(stat)
	comm, _ := r.readProc(m.Parent, "comm")
	m.ParentComm = strings.TrimSpace(string(comm))
	m.Kind = classifyParent(m.Parent, m.ParentComm)
	return m
}

// classifyParent: a dockerd whose parent is init (systemd or sysvinit's
// init, not running it as a unit) or no one has no supervisor; any other
// live parent is taken for one.
func classifyParent(ppid int, comm string) ManagerKind {
	switch {
	case ppid <= 0:
		return ManagedByNothing
	case ppid == 1 && (comm == "systemd" || comm == "init"):
		return ManagedByNothing
	}
	return ManagedBySupervisor
}

// parentPID reads the ppid field of /proc/PID/stat ("pid (comm) S ppid ...").
func parentPID(stat []byte) int {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(fields[1])
	return n
}

// CanRestart refuses a restart that cannot bring the daemon back: signal
// terminates dockerd and waits for whatever started it to start it again,
// and a dockerd nothing supervises stays dead. Checked before any write.
func (r Restarter) CanRestart(ctx context.Context) error {
	if r.Resolve() != StrategySignal {
		return nil
	}
	if m := r.Manager(ctx); m.Kind == ManagedByNothing {
		return fmt.Errorf("--restart signal would leave the daemon dead: it is managed by %s; restart it through its manager (--restart systemd), or pass --restart none and restart it yourself", m)
	}
	return nil
}
