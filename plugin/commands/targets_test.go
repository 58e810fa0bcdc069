package commands

import (
	"testing"

	"github.com/docker/cli/cli/command"
)

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
