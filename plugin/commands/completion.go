package commands

import (
	"slices"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/docker/cli/cli/context/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// Shell completion. The docker CLI completes a plugin's words by running
// it as `docker-userns __complete userns ...` (docker/cli
// cli-plugins/manager/cobra.go AddPluginCommandStubs), whose framework
// turns file completion off unless a completion asks for it
// (ShellCompDirectiveDefault; cli-plugins/plugin newPluginCommand). The framework's PersistentPreRunE has
// initialised the docker CLI by then; ours (the sweep) does not run, and
// run standalone it skips the sweep for a completion (isCompletion).
//
// A TAB never dials a daemon reached over ssh: the endpoint is read from
// the context store (storedEndpoint), and an ssh:// one gets no daemon's
// words (users beyond "default", image names). Over ssh the first use of
// a client is a login (seconds; with a passphrase key, a prompt in the
// middle of the shell's line).

// addFlagCompletions gives each flag of every command under root its
// completion, by the flag's name: one name means one thing in every
// command (--context is always a Docker context).
func addFlagCompletions(root *cobra.Command, dockerCLI command.Cli, global *globalOptions) {
	byName := map[string]cobra.CompletionFunc{
		"format":   completion.FromList("table", "json"),
		"layout":   fromValues(rangeplan.Layouts),
		"restart":  fromValues(daemon.Strategies),
		"via":      completion.FromList(target.ViaAuto, target.ViaLocal, target.ViaDaemon),
		"source":   fromValues([]imagescan.Source{imagescan.SourceAuto, imagescan.SourceDaemon, imagescan.SourceRegistry, imagescan.SourceFile}),
		"size":     completion.FromList("auto"),
		"context":  completeContexts(dockerCLI),
		"platform": completion.Platforms(),
		// Lists of the daemon's images (--keep-images=IMAGE,...).
		"for-image": daemonImages(dockerCLI), "keep-images": daemonImages(dockerCLI),
		"user": completeUsers(dockerCLI, global, false, -1),
		// A version number: nothing to offer.
		"docker-version": cobra.NoFileCompletions,
		// Paths: the shell's own file completion.
		"root": completion.FileNames(), "pidfile": completion.FileNames(), "daemon-socket": completion.FileNames(),
		"junit": completion.FileNames(), "tmpdir": completion.FileNames(),
	}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if fn, ok := byName[f.Name]; ok && takesWords(f) {
				_ = cmd.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// takesWords: a flag of numbers (check-image's --size) or durations has
// nothing to complete.
func takesWords(f *pflag.Flag) bool {
	return slices.Contains([]string{"string", "stringArray", "stringSlice"}, f.Value.Type())
}

func fromValues[T ~string](values []T) cobra.CompletionFunc {
	words := make([]string, len(values))
	for i, v := range values {
		words[i] = string(v)
	}
	return completion.FromList(words...)
}

// completeContexts offers the Docker contexts (docker/cli cmd/docker
// completeContextNames: store.Names, the default context included) but
// those already given: --context repeats for a fleet.
func completeContexts(dockerCLI command.Cli) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		names, _ := store.Names(dockerCLI.ContextStore())
		given, _ := cmd.Flags().GetStringArray("context")
		names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(given, n) })
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeUsers offers the users of the daemon's host (not root: its
// range would map container root to host root), and with withDefault
// "default", the user dockerd makes itself; as the limit-th argument
// (docker/cli completion.ImageNames' limit), none. The users are read only
// where reading is cheap: the host's files here, or under --root. A daemon
// elsewhere (a remote socket, a fleet) would need a helper container,
// an image of this binary sent to it, for each TAB: there only "default".
func completeUsers(dockerCLI command.Cli, global *globalOptions, withDefault bool, limit int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if limit > 0 && len(args) >= limit {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var words []string
		if withDefault {
			words = append(words, remapspec.Default)
		}
		contexts, _ := cmd.Flags().GetStringArray("context")
		via := target.ViaAuto
		if f := cmd.Flags().Lookup("via"); f != nil {
			via = f.Value.String()
		}
		if len(contexts) > 0 || !target.CurrentIsLocal(dockerCLI, global.root, via) {
			return words, cobra.ShellCompDirectiveNoFileComp
		}
		root, err := hostfs.Open(global.root)
		if err != nil {
			return words, cobra.ShellCompDirectiveNoFileComp
		}
		db, err := accounts.Load(root)
		if err != nil {
			return words, cobra.ShellCompDirectiveNoFileComp
		}
		for _, u := range db.Users {
			if u.UID != 0 {
				words = append(words, u.Name)
			}
		}
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeImageArgs offers check-image's IMAGE arguments: paths with
// --source file or a word that starts as a path does, else the daemon's
// images, and the shell's files when none of them fits.
func completeImageArgs(dockerCLI command.Cli, opts *checkImageOptions) cobra.CompletionFunc {
	images := daemonImages(dockerCLI)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if opts.source == string(imagescan.SourceFile) || strings.HasPrefix(toComplete, ".") || strings.HasPrefix(toComplete, "/") || strings.HasPrefix(toComplete, "~") {
			return nil, cobra.ShellCompDirectiveDefault
		}
		names, directive := images(cmd, args, toComplete)
		if directive == cobra.ShellCompDirectiveError || opts.source == string(imagescan.SourceAuto) {
			// auto also reads tarballs and OCI layouts.
			directive = cobra.ShellCompDirectiveDefault
		}
		return names, directive
	}
}

// daemonImages offers the daemon's image names (docker/cli
// completion.ImageNames), none when it is reached over ssh.
func daemonImages(dockerCLI command.Cli) cobra.CompletionFunc {
	images := completion.ImageNames(dockerCLI, -1)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if target.CurrentIsSSH(dockerCLI) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return images(cmd, args, toComplete)
	}
}

// isCompletion tells whether cmd is cobra's completion request (a TAB).
func isCompletion(cmd *cobra.Command) bool {
	return cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd
}
