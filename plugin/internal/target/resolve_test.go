package target

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
)

func TestTargetsRefusesBadFleets(t *testing.T) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Options{
		{Root: "/", Via: "ssh"},
		{Root: "/tmp", Via: ViaDaemon},
		{Root: "/", Via: ViaAuto, Contexts: []string{"a", "a"}},
	} {
		want := map[string]string{
			"ssh":     `invalid --via "ssh": want auto, local or daemon`,
			ViaDaemon: "--root goes with --via local: through the daemon the host root is the daemon's",
			ViaAuto:   `context "a" given twice`,
		}[c.Via]
		_, err := ForChange(context.Background(), dockerCLI, c)
		if err == nil || err.Error() != want {
			t.Errorf("%+v: got %v, want %q", c, err, want)
		}
	}
}

// TestTargetsRefuseAnEmptyRoot is issue 12 case 7: --root "" used to mean
// / and force the local files whatever daemon answered.
func TestTargetsRefuseAnEmptyRoot(t *testing.T) {
	_, err := ForChange(context.Background(), nil, Options{Via: ViaAuto})
	if err == nil || !strings.Contains(err.Error(), `--root ""`) {
		t.Fatalf(`--root "": want a refusal, got %v`, err)
	}
}
