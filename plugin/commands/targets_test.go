package commands

import (
	"slices"
	"testing"

	"github.com/docker/cli/cli/command"
)

// TestHelperArgsForwardsWhatWasGiven: the helper runs the same command with
// the flags the user gave, fleet flags left out, overrides replacing
// theirs, an empty override dropping its flag, and the arguments after --.
func TestHelperArgsForwardsWhatWasGiven(t *testing.T) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand(dockerCLI)
	enable, _, err := root.Find([]string{"enable"})
	if err != nil {
		t.Fatal(err)
	}
	if err := enable.ParseFlags([]string{"--size", "auto", "--for-image", "a:1", "--for-image", "b:2", "--force", "--context", "h1", "--context", "h2", "--parallel", "2", "--timeout", "30s", "--format", "table"}); err != nil {
		t.Fatal(err)
	}
	got := helperCall(enable, []string{"agent"}).Argv(map[string]string{"size": "70000", "for-image": "", "root": "/host", "format": "json", "via": "local"})
	want := []string{"enable", "--force=true", "--timeout=30s", "--format=json", "--root=/host", "--size=70000", "--via=local", "--", "agent"}
	if !slices.Equal(got, want) {
		t.Errorf("helper args:\n got %q\nwant %q", got, want)
	}
}

func TestTargetsRefusesBadFleets(t *testing.T) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts hostOptions
		root string
		want string
	}{
		{hostOptions{via: "ssh"}, "/", `invalid --via "ssh": want auto, local or daemon`},
		{hostOptions{via: viaDaemon}, "/tmp", "--root goes with --via local: through the daemon the host root is the daemon's"},
		{hostOptions{via: viaAuto, contexts: []string{"a", "a"}}, "/", `context "a" given twice`},
	} {
		_, err := targets(dockerCLI, c.root, c.opts)
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: got %v, want %q", c.opts, err, c.want)
		}
	}
}
