package target

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

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/sshreach"
)

// Where a command's host part runs (--via).
const (
	ViaAuto   = "auto"
	ViaLocal  = "local"
	ViaDaemon = "daemon"
)

// Options say which daemons a command acts on and how their host's files
// are reached.
type Options struct {
	// Root is --root: "/" is the daemon's host, another directory a tree
	// edited here.
	Root string
	// Via is ViaAuto, ViaLocal or ViaDaemon.
	Via string
	// Contexts are the --context names of a fleet; none: the current one.
	Contexts []string
}

// Check refuses options that name no host: an empty --root, an unknown
// --via, --root through the daemon, a context given twice. It asks no
// daemon.
func (o Options) Check() error {
	if err := CheckRootFlag(o.Root); err != nil {
		return err
	}
	if !slices.Contains([]string{ViaAuto, ViaLocal, ViaDaemon}, o.Via) {
		return fmt.Errorf("invalid --via %q: want auto, local or daemon", o.Via)
	}
	if o.Via == ViaDaemon && o.Root != "/" {
		return errors.New("--root goes with --via local: through the daemon the host root is the daemon's")
	}
	if len(o.Contexts) > 0 {
		return fleet.CheckHosts(o.Contexts)
	}
	return nil
}

// Target is one daemon a command acts on.
type Target struct {
	// Name is the --context; "" for the current one.
	Name string
	// CLI reaches the daemon (over ssh: one shared connection).
	CLI command.Cli
	// Local: the daemon's host files are edited here (this machine, or a
	// tree under --root), else through a helper container on the daemon.
	Local bool
	// Unreachable is why the daemon did not answer (ForReport only).
	Unreachable error
}

// ForChange resolves the daemons of a command that changes them: the
// current one, or each --context. Every daemon must answer: a rollout
// refuses before it touches any host rather than leave a fleet half done.
func ForChange(ctx context.Context, dockerCLI command.Cli, opts Options) ([]Target, error) {
	ts, err := ForReport(ctx, dockerCLI, opts)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(ts))
	for i, t := range ts {
		errs[i] = t.Unreachable
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ts, nil
}

// ForReport resolves the daemons of a command that only reads them
// (status, doctor, test, check-image): a fleet's host whose daemon does
// not answer is kept, with why in Unreachable, to get a row of its own
// while the others are read. One daemon (no --context) must answer.
func ForReport(ctx context.Context, dockerCLI command.Cli, opts Options) ([]Target, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	if len(opts.Contexts) == 0 {
		c, err := CurrentOverSSH(dockerCLI)
		if err != nil {
			return nil, err
		}
		t := Target{CLI: c}
		t.Local = IsLocal(c.DockerEndpoint().Host, opts.Root, opts.Via)
		if err := reachAll(ctx, []Target{t})[0]; err != nil {
			return nil, err
		}
		return []Target{t}, nil
	}
	var ts []Target
	for _, name := range opts.Contexts {
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
		tc, err := overSSH(ctx, c, ep)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		ts = append(ts, Target{Name: name, CLI: tc, Local: IsLocal(tc.DockerEndpoint().Host, opts.Root, opts.Via)})
	}
	// Two contexts that lead to one daemon are one host; a daemon that
	// did not answer is not asked again.
	var daemons []Named
	for i, err := range reachAll(ctx, ts) {
		ts[i].Unreachable = err
		if err == nil {
			daemons = append(daemons, Named{Name: ts[i].Name, API: ts[i].CLI.Client()})
		}
	}
	if err := OneEach(ctx, daemons); err != nil {
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
func overSSH(ctx context.Context, c command.Cli, ep docker.Endpoint) (command.Cli, error) {
	if !sshreach.IsSSH(ep.Host) {
		return c, nil
	}
	opts, err := ep.ClientOpts()
	if err != nil {
		return nil, err
	}
	shared, err := sshreach.ClientOpts(ctx, ep.Host, c.Err())
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

// CurrentOverSSH is overSSH for the CLI's current context, whose endpoint
// is read from the store as contextEndpoint reads it: the CLI's own
// DockerEndpoint() initialises its client first, and over ssh that first
// use is a login and a ping (up to 2 s, cli/command/cli.go initialize,
// docker/cli v29.9.3) on the path of every command, for a client the
// command does not use.
func CurrentOverSSH(c command.Cli) (command.Cli, error) {
	ep, err := CurrentEndpoint(c)
	if err != nil {
		return nil, err
	}
	return overSSH(context.Background(), c, ep)
}

// CurrentIsLocal is IsLocal for the CLI's current context, its endpoint
// read from the store (CurrentEndpoint), without the CLI's first use of its
// client, over ssh a login and a ping: a TAB asks.
func CurrentIsLocal(c command.Cli, root, via string) bool {
	ep, _ := CurrentEndpoint(c)
	return IsLocal(ep.Host, root, via)
}

// CurrentIsSSH tells whether the CLI's current context reaches its
// daemon over ssh, read from the store (CurrentEndpoint): a TAB asks.
func CurrentIsSSH(c command.Cli) bool {
	ep, err := CurrentEndpoint(c)
	return err == nil && sshreach.IsSSH(ep.Host)
}

// CurrentEndpoint is the docker endpoint of the CLI's current context,
// read from the store as contextEndpoint reads it: not through the CLI's
// own client, whose first use over ssh is a login and a ping.
func CurrentEndpoint(c command.Cli) (docker.Endpoint, error) {
	return contextEndpoint(c, c.CurrentContext())
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
func reachAll(ctx context.Context, ts []Target) []error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, reachTimeout)
			defer cancel()
			if err := sshreach.Check(ctx, t.CLI.Client(), t.CLI.DockerEndpoint().Host); err != nil {
				errs[i] = fmt.Errorf("context %s: %w", t.ContextName(), err)
			}
		})
	}
	wg.Wait()
	return errs
}

// ContextName is the target's Docker context: its --context, else the
// CLI's current one.
func (t Target) ContextName() string {
	if t.Name != "" {
		return t.Name
	}
	return t.CLI.CurrentContext()
}

// IsLocal tells whether a command edits the host files of the daemon at
// host (a DOCKER_HOST value) here: --via local, a tree under --root, or,
// with --via auto, a daemon that runs on this machine (DaemonIsLocal).
func IsLocal(host, root, via string) bool {
	switch {
	case via == ViaLocal, root != "/":
		return true
	case via == ViaDaemon:
		return false
	}
	return DaemonIsLocal(host)
}

// SocketPath is the daemon's unix socket as this machine reaches it, for
// the host agent of a local change; fallback when it is not a unix socket.
func (t Target) SocketPath(fallback string) string {
	if u, err := url.Parse(t.CLI.DockerEndpoint().Host); err == nil && u.Scheme == "unix" {
		return u.Path
	}
	return fallback
}
