package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-userns/docker-userns/plugin/internal/imagefit"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

type enableOptions struct {
	remap.EnableOptions
	size      string // a number of ids, or "auto"
	sizeSet   bool   // --size was given
	forImages []string
	change    changeOptions
}

func newEnableCommand(dockerCLI command.Cli, global *globalOptions) *cobra.Command {
	opts := enableOptions{change: changeOptions{action: "enable"}}
	cmd := &cobra.Command{
		Use:   "enable [OPTIONS] USER[:GROUP] | default",
		Short: "Turn on remapping: container root becomes USER on the host",
		Long: `Turn on user-namespace remapping so that root in every container is USER on
the host (the owner layout), and every other container id lands on a range of
host ids that belongs to nobody.

enable adds USER's ranges to /etc/subuid and /etc/subgid, sets "userns-remap"
in daemon.json (other keys stay as they are), restarts the daemon, and checks
through the daemon's API and a probe container that the daemon maps ids as
planned. If the daemon does not come back or maps otherwise, every file is
restored from its backup and the daemon restarted with its old config.

Layouts:
  owner       USER:UID:1 first, then a free range: container root is USER (default for a user)
  contiguous  USER:UID:SIZE: container uid 1 is host uid UID+1, maybe a real user
  isolated    one free range: container root is an unused id (default for "default")

Images, containers and volumes made before remapping are not visible while
it is on (the daemon uses <data-root>/<uid>.<gid>); they come back after
disable. --keep-images and --keep-volumes carry images and named volumes
into the new data root (through the daemon: save before the restart, load
after it; volumes copied with their owners shifted by the new map); the
old root keeps its copies.`,
		Example: `  sudo docker userns enable agent
  sudo docker userns enable --dry-run agent
  sudo docker userns enable --size 200000 agent
  sudo docker userns enable --size auto --for-image registry.example.com/app:1.2 agent
  sudo docker userns enable --keep-images --keep-volumes agent
  sudo docker userns enable --keep-images=app:1.2,postgres:16 agent
  sudo docker userns enable --create-user ci:ci
  sudo docker userns enable default`,
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: completeUsers(dockerCLI, global, true, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			opts.sizeSet = cmd.Flags().Changed("size")
			opts.change.root, opts.change.call = global.root, helperCall(cmd, args)
			return runEnable(cmd.Context(), dockerCLI, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.Layout, "layout", "", "How container ids land on host ids: owner, contiguous or isolated")
	flags.StringVar(&opts.size, "size", fmt.Sprint(rangeplan.DefaultSize), `How many container ids to map (images with higher uids need more); "auto" sizes for the images`)
	flags.StringSliceVar(&opts.forImages, "for-image", nil, "With --size auto: the images to size for (default: every image in the daemon)")
	flags.BoolVar(&opts.CreateUser, "create-user", false, "Create USER (and its group) as a system user when missing")
	flags.BoolVar(&opts.Force, "force", false, "Replace another userns-remap setting; accept a contiguous range over host users")
	flags.StringVar(&opts.DockerVersion, "docker-version", "", "With --root DIR: the Docker version of DIR's dockerd, when neither DIR's package database nor its dockerd binary says")
	addChangeFlags(flags, &opts.change, &opts.DryRun, &opts.DiscardPending)
	return cmd
}

// runEnable turns remapping on, on one host or a fleet. With --size auto
// each host's range is sized for that host's images, here; a helper
// container gets the size, not the images to scan.
func runEnable(ctx context.Context, dockerCLI command.Cli, opts enableOptions) error {
	if err := opts.change.restart.check(); err != nil {
		return err
	}
	if len(opts.forImages) > 0 && opts.size != "auto" {
		return errors.New("--for-image goes with --size auto")
	}
	if opts.size == "auto" && isTree(opts.change.root) {
		return errTreeDaemon("--size auto", opts.change.root)
	}
	enable := opts.EnableOptions
	if opts.size != "auto" && opts.sizeSet {
		size, err := rangeplan.ParseSize(opts.size)
		if err != nil {
			return err
		}
		enable.Size = size
	}
	return runChange(ctx, dockerCLI, opts.change, func(ctx context.Context, t target, progress io.Writer) (hostChange, error) {
		onHost, overrides := enable, map[string]string(nil)
		if opts.size == "auto" {
			size, err := imagefit.SizeForImages(ctx, t.cli.Client(), imagescan.CLIKeychain(t.cli.ConfigFile()), opts.forImages, progress)
			if err != nil {
				return hostChange{}, err
			}
			onHost.Size = size
			overrides = map[string]string{"size": fmt.Sprint(size), "for-image": ""}
		}
		mapped := uint64(onHost.Size)
		if mapped == 0 {
			mapped = rangeplan.DefaultSize
		}
		return hostChange{
			local:     func(ctx context.Context, env remap.Env) (remap.Outcome, error) { return remap.Enable(ctx, env, onHost) },
			overrides: overrides,
			dryRun:    onHost.DryRun,
			mapped:    mapped,
		}, nil
	})
}
