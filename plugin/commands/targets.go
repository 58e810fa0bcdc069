package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/moby/moby/client"
	"github.com/spf13/pflag"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/helper"
	"github.com/docker-userns/docker-userns/plugin/internal/hostident"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/sshreach"
)

// Where a command's host part runs (--via).
const (
	viaAuto   = "auto"
	viaLocal  = "local"
	viaDaemon = "daemon"
)

// hostOptions are the flags of the commands that act on a daemon's host:
// which hosts (--context, a fleet), and how to reach their files.
type hostOptions struct {
	via          string
	daemonSocket string
	contexts     []string
	rollout      fleet.Options
	// armOnly is set inside a helper container: stop once the host agent
	// is armed and hand the rest to the client.
	armOnly bool
}

// A command that changes hosts (rolling) also gets the rollout flags.
func addHostFlags(flags *pflag.FlagSet, opts *hostOptions, rolling bool) {
	flags.StringVar(&opts.via, "via", viaAuto, `Where to edit the host: "local" (this machine), "daemon" (a helper container started through the daemon's API), "auto" (local when the daemon runs here)`)
	flags.StringVar(&opts.daemonSocket, "daemon-socket", remap.DefaultSocket, "The daemon's unix socket on its host (where a helper and the host agent reach it)")
	flags.StringArrayVar(&opts.contexts, "context", nil, "Run on the host of this Docker context; repeat for a fleet")
	if !rolling {
		return
	}
	flags.IntVar(&opts.rollout.Canary, "canary", 1, "With --context: hosts done one by one before the rest")
	flags.IntVar(&opts.rollout.Parallel, "parallel", 4, "With --context: hosts done at once after the canaries")
	flags.IntVar(&opts.rollout.MaxFailures, "max-failures", 1, "With --context: stop starting hosts once this many failed (0: never stop)")
	flags.BoolVar(&opts.armOnly, "arm-only", false, "")
	_ = flags.MarkHidden("arm-only")
}

// target is one daemon a command acts on.
type target struct {
	name  string // Docker context ("" for the current one)
	cli   command.Cli
	local bool
	// unreachable is why the daemon did not answer over ssh (reachAll);
	// only reportTargets hands such a target on.
	unreachable error
}

// targets resolves the daemons of a command that changes them: the
// current one, or each --context. Every daemon must answer: a rollout
// refuses before it touches any host rather than leave a fleet half done.
func targets(ctx context.Context, dockerCLI command.Cli, root string, opts hostOptions) ([]target, error) {
	ts, err := reportTargets(ctx, dockerCLI, root, opts)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(ts))
	for i, t := range ts {
		errs[i] = t.unreachable
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ts, nil
}

// reportTargets resolves the daemons of a command that only reads them
// (status, doctor, test, check-image): a fleet's host whose daemon does
// not answer is kept, with why in unreachable, to get a row of its own
// while the others are read. One daemon (no --context) must answer.
// Ending ctx (Ctrl-C) ends the ssh reaches at once.
func reportTargets(ctx context.Context, dockerCLI command.Cli, root string, opts hostOptions) ([]target, error) {
	if err := hostident.CheckRootFlag(root); err != nil {
		return nil, err
	}
	if !slices.Contains([]string{viaAuto, viaLocal, viaDaemon}, opts.via) {
		return nil, fmt.Errorf("invalid --via %q: want auto, local or daemon", opts.via)
	}
	if opts.via == viaDaemon && root != "/" {
		return nil, errors.New("--root goes with --via local: through the daemon the host root is the daemon's")
	}
	if len(opts.contexts) == 0 {
		c, err := currentOverSSH(dockerCLI)
		if err != nil {
			return nil, err
		}
		t := target{cli: c}
		t.local = isLocal(c, root, opts.via)
		if err := reachAll(ctx, []target{t})[0]; err != nil {
			return nil, err
		}
		return []target{t}, nil
	}
	if err := fleet.CheckHosts(opts.contexts); err != nil {
		return nil, err
	}
	var ts []target
	for _, name := range opts.contexts {
		c, err := command.NewDockerCli(command.WithErrorStream(dockerCLI.Err()), command.WithOutputStream(dockerCLI.Out()))
		if err != nil {
			return nil, err
		}
		clientOpts := cliflags.NewClientOptions()
		clientOpts.Context = name
		if err := c.Initialize(clientOpts); err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		ep, err := contextEndpoint(c, name)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		tc, err := overSSH(c, ep)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		ts = append(ts, target{name: name, cli: tc, local: isLocal(tc, root, opts.via)})
	}
	// Two contexts that lead to one daemon are one host; a daemon that
	// did not answer is not asked again.
	var daemons []hostident.Named
	for i, err := range reachAll(ctx, ts) {
		ts[i].unreachable = err
		if err == nil {
			daemons = append(daemons, hostident.Named{Name: ts[i].name, API: ts[i].cli.Client()})
		}
	}
	if err := hostident.OneEach(ctx, daemons); err != nil {
		return nil, err
	}
	return ts, nil
}

// contextEndpoint is the docker endpoint of the context name, read from
// the store as the docker CLI reads it (cli/command/cli.go,
// resolveDockerEndpoint), without the CLI's first-use ping.
func contextEndpoint(c command.Cli, name string) (docker.Endpoint, error) {
	meta, err := c.ContextStore().GetMetadata(name)
	if err != nil {
		return docker.Endpoint{}, err
	}
	epMeta, err := docker.EndpointFromContext(meta)
	if err != nil {
		return docker.Endpoint{}, err
	}
	return docker.WithTLSData(c.ContextStore(), name, epMeta)
}

// sshCLI is a docker CLI whose daemon is reached over ssh with one shared
// ssh connection (sshreach.ClientOpts) instead of the CLI's own client, an
// ssh login per API connection. Its endpoint is given, not resolved: the
// CLI's first use pings with a 2 s bound (cli/command/cli.go,
// initializeFromClient), which an ssh login on a slow link outlasts, and
// the cancelled ping kills that ssh, a login for nothing.
type sshCLI struct {
	command.Cli
	api      client.APIClient
	endpoint docker.Endpoint
}

func (c sshCLI) Client() client.APIClient        { return c.api }
func (c sshCLI) DockerEndpoint() docker.Endpoint { return c.endpoint }

// overSSH is c with an API client sharing one ssh connection when ep is
// ssh://, else c.
func overSSH(c command.Cli, ep docker.Endpoint) (command.Cli, error) {
	if !sshreach.IsSSH(ep.Host) {
		return c, nil
	}
	opts, err := ep.ClientOpts()
	if err != nil {
		return nil, err
	}
	shared, err := sshreach.ClientOpts(context.Background(), ep.Host, c.Err())
	if err != nil {
		return nil, err
	}
	if headers := c.ConfigFile().HTTPHeaders; len(headers) > 0 {
		opts = append(opts, client.WithHTTPHeaders(headers))
	}
	api, err := client.New(append(opts, shared...)...)
	if err != nil {
		return nil, err
	}
	return sshCLI{Cli: c, api: api, endpoint: ep}, nil
}

// currentOverSSH is overSSH for the CLI's current context, whose endpoint
// is read from the store as contextEndpoint reads it: the CLI's own
// DockerEndpoint() initialises its client first, and over ssh that first
// use is a login and a ping (up to 2 s, cli/command/cli.go initialize,
// docker/cli v29.9.3) on the path of every command, for a client the
// command does not use.
func currentOverSSH(c command.Cli) (command.Cli, error) {
	ep, err := contextEndpoint(c, c.CurrentContext())
	if err != nil {
		return nil, err
	}
	return overSSH(c, ep)
}

// reachTimeout bounds the first answer of a daemon reached over ssh (ssh's
// own ConnectTimeout, set by the docker CLI, is 30 s).
const reachTimeout = 60 * time.Second

// reachAll asks every target reached over ssh, at once, whether its daemon
// answers, so that a host whose ssh fails is named in one line (no docker
// CLI there, a password asked for: sshreach) before any host is touched,
// instead of a wrapped connection error from the middle of a change. The
// answer's connection stays with the target's client. The errors are the
// targets', in order (nil: it answered, or it is not reached over ssh).
func reachAll(ctx context.Context, ts []target) []error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, reachTimeout)
			defer cancel()
			if err := sshreach.Check(ctx, t.cli.Client(), t.cli.DockerEndpoint().Host); err != nil {
				errs[i] = fmt.Errorf("context %s: %w", t.contextName(), err)
			}
		})
	}
	wg.Wait()
	return errs
}

// contextName is the target's Docker context: its --context, else the
// CLI's current one.
func (t target) contextName() string {
	if t.name != "" {
		return t.name
	}
	return t.cli.CurrentContext()
}

func isLocal(c command.Cli, root string, via string) bool {
	switch {
	case via == viaLocal, root != "/":
		return true
	case via == viaDaemon:
		return false
	}
	return helper.DaemonIsLocal(c.DockerEndpoint().Host)
}

// socketPath is the daemon's unix socket as this machine reaches it, for
// the host agent of a local change.
func (t target) socketPath(fallback string) string {
	if u, err := url.Parse(t.cli.DockerEndpoint().Host); err == nil && u.Scheme == "unix" {
		return u.Path
	}
	return fallback
}

// runner starts helper containers on the target's daemon, whose socket on
// its host is daemonSocket.
func (t target) runner(daemonSocket string) (helper.Runner, error) {
	binary, err := probe.SelfBinary()
	if err != nil {
		return helper.Runner{}, err
	}
	return helper.Runner{API: t.cli.Client(), Binary: binary, Socket: daemonSocket}, nil
}
