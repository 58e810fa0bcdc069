package commands

import (
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// TestCommandTreeHelpAndFlags walks the whole tree, root included, for what
// `docker userns --help` shows: a Short line without a trailing period,
// examples that run the command they stand under, an argument checker, and
// a usage text for every flag, worded as docker's (no trailing period).
func TestCommandTreeHelpAndFlags(t *testing.T) {
	dockerCLI, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		t.Run(cmd.CommandPath(), func(t *testing.T) {
			if cmd.Short == "" || strings.HasSuffix(cmd.Short, ".") || strings.ToUpper(cmd.Short[:1]) != cmd.Short[:1] {
				t.Errorf("Short %q: want a capitalised line without a trailing period", cmd.Short)
			}
			if !strings.HasPrefix(cmd.Use, cmd.Name()) {
				t.Errorf("Use %q does not start with the command's name", cmd.Use)
			}
			if cmd.Args == nil {
				t.Errorf("has no argument checker (cli.NoArgs, cli.ExactArgs...)")
			}
			if cmd.Example == "" {
				t.Errorf("has no Example")
			}
			for _, line := range strings.Split(cmd.Example, "\n") {
				run := strings.TrimPrefix(strings.TrimSpace(line), "sudo ")
				if !strings.HasPrefix(line, "  ") || !strings.HasPrefix(run, "docker "+cmd.CommandPath()) {
					t.Errorf("example %q: want an indented %q (with or without sudo)", line, "docker "+cmd.CommandPath())
				}
			}
			cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden {
					return
				}
				if f.Usage == "" || strings.HasSuffix(f.Usage, ".") {
					t.Errorf("--%s: usage %q: want a text without a trailing period", f.Name, f.Usage)
				}
			})
		})
		for _, sub := range cmd.Commands() {
			if !sub.Hidden && sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub)
			}
		}
	}
	walk(NewRootCommand(dockerCLI))
}
