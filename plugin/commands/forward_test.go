package commands

import (
	"slices"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// parsedCommand is the subcommand name of a fresh tree, its flags parsed
// from flags as the user would give them.
func parsedCommand(t *testing.T, name string, flags ...string) *cobra.Command {
	t.Helper()
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	cmd, _, err := NewRootCommand(dockerCLI).Find([]string{name})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(flags); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestHelperCallForwardsWhatWasGiven: the helper runs the same command with
// the flags the user gave, fleet flags left out, overrides replacing
// theirs, an empty override dropping its flag, and the arguments after --.
func TestHelperCallForwardsWhatWasGiven(t *testing.T) {
	enable := parsedCommand(t, "enable", "--size", "auto", "--for-image", "a:1", "--for-image", "b:2", "--force", "--context", "h1", "--context", "h2", "--parallel", "2", "--timeout", "30s", "--format", "table")
	got := helperCall(enable, []string{"agent"}).Argv(map[string]string{"size": "70000", "for-image": "", "root": "/host", "format": "json", "via": "local"})
	want := []string{"enable", "--force=true", "--timeout=30s", "--format=json", "--root=/host", "--size=70000", "--via=local", "--", "agent"}
	if !slices.Equal(got, want) {
		t.Errorf("helper args:\n got %q\nwant %q", got, want)
	}
}

// TestChangeAndReportArgv: a helper container that changes a host works on
// the host root it mounts, stops once the agent is armed and answers JSON
// (an override of the command's own, enable's size, also counts); one that
// reports prints in the format asked for.
func TestChangeAndReportArgv(t *testing.T) {
	enable := parsedCommand(t, "enable", "--size", "auto", "--via", "daemon", "--daemon-socket", "/run/d.sock")
	got := changeArgv(helperCall(enable, []string{"agent"}), "/run/d.sock", map[string]string{"size": "131072", "for-image": ""})
	want := []string{"enable", "--arm-only=true", "--daemon-socket=/run/d.sock", "--format=json", "--root=/host", "--size=131072", "--via=local", "--", "agent"}
	if !slices.Equal(got, want) {
		t.Errorf("change argv:\n got %q\nwant %q", got, want)
	}
	status := parsedCommand(t, "status", "--context", "h1", "--format", "{{.Setting}}")
	got = reportArgv(helperCall(status, nil), "json")
	want = []string{"status", "--format=json", "--root=/host", "--via=local", "--"}
	if !slices.Equal(got, want) {
		t.Errorf("report argv:\n got %q\nwant %q", got, want)
	}
}
