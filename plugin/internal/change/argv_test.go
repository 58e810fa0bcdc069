package change

import (
	"slices"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// TestHelperArgvIsTheChangeOnly: a helper container gets the change and
// the restart, built from the options (enable's size as this host's
// images fixed it), on the host root it mounts, stopping once the agent is
// armed and answering JSON; what stays with the client (the fleet, --via,
// --keep-*, --for-image) never reaches it.
func TestHelperArgvIsTheChangeOnly(t *testing.T) {
	opts := Options{
		Enable:       &Enable{EnableOptions: remap.EnableOptions{Spec: "agent", Force: true}, SizeAuto: true, ForImages: []string{"a:1"}},
		Hosts:        target.Options{Root: "/", Via: target.ViaDaemon, Contexts: []string{"h1", "h2"}},
		DaemonSocket: "/run/d.sock",
		Rollout:      fleet.Options{Canary: 1, Parallel: 2},
		Restart:      Restart{Strategy: daemon.StrategyAuto, Timeout: 30 * time.Second, ConfirmTimeout: time.Minute, Pidfile: daemon.DefaultPidfile},
		Keep:         Keep{Images: true, Volumes: true},
	}
	enable := opts.Enable.EnableOptions
	enable.Size = 131072
	got := helperArgv(opts, prepared{enable: &enable})
	want := []string{"enable", "--size=131072", "--force=true", "--restart=auto", "--timeout=30s", "--confirm-timeout=1m0s", "--pidfile=/var/run/docker.pid",
		"--root=/host", "--via=local", "--arm-only=true", "--daemon-socket=/run/d.sock", "--format=json", "--", "agent"}
	if !slices.Equal(got, want) {
		t.Errorf("enable argv:\n got %q\nwant %q", got, want)
	}
	got = helperArgv(opts, prepared{disable: &remap.DisableOptions{RemoveRanges: true, DryRun: true}})
	want = []string{"disable", "--remove-ranges=true", "--dry-run=true", "--restart=auto", "--timeout=30s", "--confirm-timeout=1m0s", "--pidfile=/var/run/docker.pid",
		"--root=/host", "--via=local", "--arm-only=true", "--daemon-socket=/run/d.sock", "--format=json", "--"}
	if !slices.Equal(got, want) {
		t.Errorf("disable argv:\n got %q\nwant %q", got, want)
	}
}
