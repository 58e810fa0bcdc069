package commands

import (
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// TestCommandTreeInvariants walks every command: each teaches with a short
// line, a long help and examples, offers --format, and sees --root.
func TestCommandTreeInvariants(t *testing.T) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand(dockerCLI)
	if len(root.Commands()) < 6 {
		t.Fatalf("want at least enable, disable, status, doctor, check-image, test; got %d commands", len(root.Commands()))
	}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			t.Run(sub.CommandPath(), func(t *testing.T) {
				if sub.Short == "" || sub.Long == "" || sub.Example == "" {
					t.Errorf("needs Short, Long and Example")
				}
				if sub.Flags().Lookup("format") == nil {
					t.Errorf("has no --format")
				}
				if sub.InheritedFlags().Lookup("root") == nil {
					t.Errorf("does not see --root")
				}
				if sub.RunE == nil {
					t.Errorf("has no RunE")
				}
			})
			walk(sub)
		}
	}
	walk(root)
}
