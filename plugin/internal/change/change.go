// Package change is enable or disable from end to end, below the
// commands: it takes one Options value and runs the pipeline on one host or
// a fleet (Run): resolve the hosts (target), then on each one size the
// ranges for its images (--size auto), make ready what --keep-* carries on
// the old daemon (carry.Before), change the host's files here (remap.Enable,
// remap.Disable) or through its daemon in a helper container
// (helper.Change), which restarts the daemon and confirms or reverts, and
// carry into the new daemon once confirmed (carry.Around.After). The
// command prints what comes back.
package change

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/imagefit"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// Options are one enable or disable, on one host or a fleet. Exactly one
// of Enable and Disable is set.
type Options struct {
	Enable  *Enable
	Disable *remap.DisableOptions
	// Hosts are the daemons to change and how their files are reached.
	Hosts target.Options
	// DaemonSocket is the daemon's unix socket on its host (where a helper
	// and the host agent reach it).
	DaemonSocket string
	// Rollout orders a fleet's hosts (Hosts.Contexts).
	Rollout fleet.Options
	Restart Restart
	Keep    Keep
	// ArmOnly runs inside a helper container: stop once the host agent is
	// armed and hand the rest to the client.
	ArmOnly bool
	// Progress gets what a person waits on (a fleet's lines prefixed with
	// each host).
	Progress io.Writer
}

// Enable is what enable does on each host.
type Enable struct {
	remap.EnableOptions
	// SizeAuto sizes each host's range for its images (ForImages, or every
	// image of its daemon), here, before the change.
	SizeAuto  bool
	ForImages []string
}

// Restart is how the daemon restarts and how long it is waited for.
type Restart struct {
	Strategy       daemon.Strategy
	Timeout        time.Duration
	ConfirmTimeout time.Duration
	Pidfile        string
}

// Keep is what --keep-images and --keep-volumes carry across the switch
// of data root.
type Keep struct {
	Images    bool
	ImageRefs []string // none: every tagged image
	Volumes   bool
}

// Any tells whether anything is carried.
func (k Keep) Any() bool { return k.Images || k.Volumes }

// Result is what Run did: one host's outcome, or each host's row of a
// fleet (Hosts.Contexts).
type Result struct {
	Outcome remap.Outcome
	Fleet   []fleet.Result
}

// Check refuses options that cannot work, before any work: no daemon is
// asked, no image saved, no lock taken.
func (o Options) Check() error {
	if (o.Enable == nil) == (o.Disable == nil) {
		return errors.New("change: want one of enable and disable")
	}
	if err := o.Hosts.Check(); err != nil {
		return err
	}
	if _, err := daemon.ParseStrategy(string(o.Restart.Strategy)); err != nil {
		return err
	}
	if o.Restart.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be above 0", o.Restart.Timeout)
	}
	if o.Restart.ConfirmTimeout <= 0 {
		return fmt.Errorf("--confirm-timeout %s: must be above 0", o.Restart.ConfirmTimeout)
	}
	if e := o.Enable; e != nil {
		if _, err := remapspec.Parse(e.Spec); err != nil {
			return err
		}
		if e.Layout != "" {
			if _, err := rangeplan.ParseLayout(e.Layout); err != nil {
				return err
			}
		}
		if len(e.ForImages) > 0 && !e.SizeAuto {
			return errors.New("--for-image goes with --size auto")
		}
		// As remap.Enable refuses it, before carrying saves anything.
		if e.DockerVersion != "" && !helper.IsTree(o.Hosts.Root) {
			return fmt.Errorf("--docker-version %s goes with --root DIR, a tree whose daemon is not asked: here the daemon says its version", e.DockerVersion)
		}
		if e.SizeAuto && helper.IsTree(o.Hosts.Root) {
			return errTreeDaemon("--size auto", o.Hosts.Root)
		}
	}
	if o.Keep.Any() && o.Restart.Strategy == daemon.StrategyNone {
		return errors.New("--keep-images and --keep-volumes carry once the restarted daemon answers: they do not go with --restart none")
	}
	if helper.IsTree(o.Hosts.Root) {
		if o.Keep.Any() {
			return errTreeDaemon("--keep-images and --keep-volumes", o.Hosts.Root)
		}
		if s := o.Restart.Strategy; s != daemon.StrategyAuto && s != daemon.StrategyNone {
			return fmt.Errorf("--restart %s with --root %s: the tree's daemon is not this machine's, and nothing outside the tree is signalled or restarted: pass --restart none and restart that daemon where the tree runs", s, o.Hosts.Root)
		}
	}
	return nil
}

// errTreeDaemon refuses what needs the daemon under a tree.
func errTreeDaemon(flag, root string) error {
	return fmt.Errorf("%s with --root %s: the tree's daemon is not asked (the one this client reaches is not the tree's): leave it out, and run it on the machine the tree becomes", flag, root)
}

// Run checks opts, resolves the hosts and changes each one: the one host
// (Result.Outcome; with a *carry.IncompleteError the change was made and
// the outcome says what was carried), or a fleet in the order
// opts.Rollout gives (Result.Fleet: a failed host is a row, not an error).
func Run(ctx context.Context, dockerCLI command.Cli, opts Options) (Result, error) {
	if err := opts.Check(); err != nil {
		return Result{}, err
	}
	ts, err := target.ForChange(ctx, dockerCLI, opts.Hosts)
	if err != nil {
		return Result{}, err
	}
	if len(opts.Hosts.Contexts) == 0 {
		out, err := onHost(ctx, ts[0], opts, opts.Progress)
		return Result{Outcome: out}, err
	}
	names := make([]string, len(ts))
	byName := make(map[string]target.Target, len(ts))
	for i, t := range ts {
		names[i], byName[t.Name] = t.Name, t
	}
	rows := fleet.RollPrefixed(ctx, names, opts.Rollout, opts.Progress, func(ctx context.Context, host string, progress io.Writer) (fleet.Outcome, error) {
		t := byName[host]
		out, err := onHost(ctx, t, opts, progress)
		return HostRow(out, err, t.Local)
	})
	return Result{Fleet: rows}, nil
}

// onHost is the change of one host, wrapped in what --keep-* carries
// across it (carry.Before: made ready on the old daemon; After: carried
// once the change is confirmed, nothing after one that reverted or
// failed). A tree's daemon is not asked: nothing is carried.
func onHost(ctx context.Context, t target.Target, opts Options, progress io.Writer) (remap.Outcome, error) {
	p, err := prepare(ctx, t, opts, progress)
	if err != nil {
		return remap.Outcome{}, err
	}
	if helper.IsTree(opts.Hosts.Root) {
		return changeFiles(ctx, t, opts, p, progress)
	}
	keep, err := opts.Keep.carryOptions(progress)
	if err != nil {
		return remap.Outcome{}, err
	}
	around, err := carry.Before(ctx, t.CLI.Client(), keep, p.dryRun(), p.mapped())
	if err != nil {
		return remap.Outcome{}, err
	}
	defer around.Close()
	out, err := changeFiles(ctx, t, opts, p, progress)
	if err != nil {
		return out, err
	}
	out.Carried, out.Reappeared, err = around.After(ctx, out.CarryEnd(), out.Action)
	return out, err
}

// prepared is enable or disable made ready for one host: enable's size
// fixed for this host's images when --size auto.
type prepared struct {
	enable  *remap.EnableOptions
	disable *remap.DisableOptions
}

func prepare(ctx context.Context, t target.Target, opts Options, progress io.Writer) (prepared, error) {
	if opts.Disable != nil {
		return prepared{disable: opts.Disable}, nil
	}
	enable := opts.Enable.EnableOptions
	if opts.Enable.SizeAuto {
		size, err := imagefit.SizeForImages(ctx, t.CLI.Client(), imagescan.CLIKeychain(t.CLI.ConfigFile()), opts.Enable.ForImages, progress)
		if err != nil {
			return prepared{}, err
		}
		enable.Size = size
	}
	return prepared{enable: &enable}, nil
}

func (p prepared) dryRun() bool {
	if p.enable != nil {
		return p.enable.DryRun
	}
	return p.disable.DryRun
}

// mapped is how many ids the new map holds at least (0: no limit, the
// daemon will not remap), for what --keep-* carries.
func (p prepared) mapped() uint64 {
	if p.enable == nil {
		return 0
	}
	if p.enable.Size == 0 {
		return rangeplan.DefaultSize
	}
	return uint64(p.enable.Size)
}

// changeFiles makes the change of one host's files: here, or through its
// daemon in a helper container.
func changeFiles(ctx context.Context, t target.Target, opts Options, p prepared, progress io.Writer) (remap.Outcome, error) {
	if !t.Local {
		binary, err := probe.SelfBinary()
		if err != nil {
			return remap.Outcome{}, err
		}
		return helper.Change(ctx, helper.ChangeOptions{
			Runner:   helper.Runner{API: t.CLI.Client(), Binary: binary, Socket: opts.DaemonSocket},
			Argv:     helperArgv(opts, p),
			Timeout:  opts.Restart.Timeout,
			Progress: progress,
		})
	}
	env, err := hostEnv(t, opts, progress)
	if err != nil {
		return remap.Outcome{}, err
	}
	if p.enable != nil {
		return remap.Enable(ctx, env, *p.enable)
	}
	return remap.Disable(ctx, env, *p.disable)
}

// carryOptions are k as carry takes them, with this binary for what runs
// in the daemon.
func (k Keep) carryOptions(progress io.Writer) (carry.Options, error) {
	o := carry.Options{Images: k.Images, ImageRefs: k.ImageRefs, Volumes: k.Volumes, Progress: progress}
	if o.Any() {
		binary, err := probe.SelfBinary()
		if err != nil {
			return o, err
		}
		o.Binary = binary
	}
	return o, nil
}

// HostRow is an enable or disable on one host of a fleet, as its row.
func HostRow(out remap.Outcome, err error, local bool) (fleet.Outcome, error) {
	where := "local files"
	if !local {
		where = "through the daemon"
	}
	var reverted *remap.RevertedError
	switch {
	case errors.As(err, &reverted):
		return fleet.Outcome{Result: string(remap.RolledBack), Message: reverted.Reason + " (" + where + ")"}, err
	case err != nil:
		return fleet.Outcome{}, err
	}
	msg := where
	if out.Remap != "" {
		msg = fmt.Sprintf("userns-remap %q, %s", out.Remap, where)
	}
	if out.Plan != nil {
		msg += "; uid map " + out.Plan.UID.Map.String()
	}
	if r := out.Carried; r != nil {
		msg += fmt.Sprintf("; %d of %d images and volumes carried", r.CountCarried(), len(r.Items))
	}
	return fleet.Outcome{Result: string(out.Result), Message: msg}, nil
}
