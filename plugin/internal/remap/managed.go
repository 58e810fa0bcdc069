package remap

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerdflags"
)

// managedByCheck is doctor's "managed by": what starts dockerd again after
// a restart (docker.service with its unit file and drop-ins, a supervisor,
// or nothing), and so which --restart works on this host.
func managedByCheck(ctx context.Context, r daemon.Restarter, flags *dockerdflags.Report, add addFunc) {
	m := r.Manager(ctx)
	detail := m.String()
	if extra := flagSummary(flags); extra != "" {
		detail += "; " + extra
	}
	switch m.Kind {
	case daemon.ManagedBySystemd:
		add("managed by", Pass, detail+"; enable restarts it as a systemd job (--restart auto or systemd)", "")
	case daemon.ManagedBySupervisor:
		add("managed by", Pass, detail+"; enable terminates dockerd and waits for it (--restart auto or signal)", "")
	case daemon.ManagerNotLooked:
		add("managed by", Warn, detail+"; enable and disable write the files only (--restart none)", "")
	case daemon.ManagedByNothing:
		add("managed by", Warn, detail+"; enable refuses --restart signal here",
			"run dockerd under systemd or a supervisor, or pass --restart none to enable and restart the daemon yourself")
	default:
		add("managed by", Warn, detail, "start the daemon, or pass --pidfile if it writes its pid elsewhere")
	}
}

// flagSummary names the dockerd flags that move its files, with where each
// is given: a drop-in's --data-root or --config-file is in force.
func flagSummary(flags *dockerdflags.Report) string {
	if flags == nil {
		return ""
	}
	var parts []string
	for _, fs := range [][]dockerdflags.Flag{flags.DataRootFlag, flags.ConfigFile} {
		if len(fs) > 0 {
			parts = append(parts, fmt.Sprintf("--%s=%s (%s)", fs[0].Name, fs[0].Value, fs[0].Where()))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "dockerd gets " + strings.Join(parts, ", ")
}
