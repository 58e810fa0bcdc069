package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	// PluginPath is where WithPlugin puts the plugin: a system directory the
	// inner docker CLI searches for every user.
	PluginPath = "/usr/local/lib/docker/cli-plugins/docker-userns"
	// DockerdFlagsPath holds extra dockerd command-line flags, read by the
	// entry script each time it starts dockerd.
	DockerdFlagsPath = "/etc/dind/dockerd-flags"
	// DaemonJSONPath is the inner daemon's default configuration file.
	DaemonJSONPath = "/etc/docker/daemon.json"
	// DaemonLogPath is where the entry script appends dockerd's output (in
	// the supervised flavour; systemd's dockerd logs to the journal).
	DaemonLogPath = "/var/log/dockerd.log"
	// DockerdFlagsDropIn is the docker.service drop-in in which the systemd
	// flavour's entry script puts the flags of DockerdFlagsPath and of
	// WithHostSocket at boot: the unit's own ExecStart with the flags after
	// it. It exists only when there are flags; after boot it is the place
	// to change them (RestartDaemon reloads systemd's configuration).
	DockerdFlagsDropIn = "/etc/systemd/system/docker.service.d/dind-flags.conf"
	// DockerService is the systemd unit that runs dockerd in the systemd
	// flavour, behind DockerSocket.
	DockerService = "docker.service"
	// DockerSocket is the socket unit that holds /run/docker.sock for
	// DockerService (socket activation, dockerd -H fd://).
	DockerSocket = "docker.socket"
	// DaemonPIDPath is dockerd's default pidfile.
	DaemonPIDPath = "/var/run/docker.pid"

	// ReadyTimeout bounds the wait for the inner daemon after start: a
	// systemd host took over 60 s to boot on the 2-core machine at load 28.
	ReadyTimeout = 2 * time.Minute

	labelHarness = "org.docker-userns.harness"
	// labelFlavour carries the image's flavour from Run to the options
	// (WithHostSocket) and shows it in `docker inspect`.
	labelFlavour = labelHarness + ".flavour"
	// imageLabelFlavour is the flavour label scripts/build-dind-images puts
	// on each image; an image without it is supervised.
	imageLabelFlavour = "org.docker-userns.dind.flavour"
)

func init() {
	// The reaper's image cannot be pulled here; cleanup is the tests' job.
	// Set before testcontainers reads its configuration (once per process).
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

// DinD is a running Docker-in-Docker container. Its Exec methods run
// commands with stdout and stderr kept apart; the embedded container's own
// Exec is reachable as d.Container.Exec.
type DinD struct {
	testcontainers.Container
	api *client.Client
	// socketDir is the host directory of WithHostSocket's socket, or "".
	socketDir string
	flavour   Flavour

	mu          sync.Mutex
	toolsCopied bool
	pid         int // PID 1 as this machine sees it (initPID)

	agentOnce sync.Once
	execAgent *execAgent
	agentErr  error
}

// Terminate ends the exec agent's stream and removes the container (see
// testcontainers.Container's Terminate).
func (d *DinD) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	d.mu.Lock()
	a := d.execAgent
	d.mu.Unlock()
	if a != nil {
		a.close()
	}
	return d.Container.Terminate(ctx, opts...)
}

// Run starts a DinD container from image (an Image's Ref, a Version's
// Image or Systemd) and waits until its inner daemon answers. The image's
// flavour label says how: a supervised image's entry script runs dockerd;
// a systemd image boots systemd (with a tmpfs on /run and /run/lock) and Run
// waits until systemd has finished booting and docker.service answers.
// It is testcontainers.Run with the harness's defaults as options and
// opts after them, so the caller's win; testcontainers.WithHostConfigModifier
// (v0.45.0 chains modifiers: options.go) runs after the harness's own
// (capabilities, volume, tmpfs), so it can change what that set rather than
// replace it. The first Run of a process sweeps what killed test processes
// left (sweepOrphans). On error the partly built container is returned too,
// for Cleanup. Tests mostly want Start, which also registers Cleanup.
func Run(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*DinD, error) {
	api, err := hostClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("run dind: %w", err)
	}
	inspect, err := api.ImageInspect(ctx, image)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("run dind: image %s missing: build it with `make dind-images`", image)
		}
		return nil, fmt.Errorf("run dind: inspect image %s: %w", image, err)
	}
	flavour := Supervised
	if inspect.Config != nil && inspect.Config.Labels[imageLabelFlavour] != "" {
		flavour = Flavour(inspect.Config.Labels[imageLabelFlavour])
	}
	if flavour != Supervised && flavour != Systemd {
		return nil, fmt.Errorf("run dind: image %s: unknown flavour %q in label %s", image, flavour, imageLabelFlavour)
	}
	privileged, err := canRunPrivileged(ctx, api, image)
	if err != nil {
		return nil, fmt.Errorf("run dind: %w", err)
	}

	if err := sweepOnce(ctx, api); err != nil {
		return nil, fmt.Errorf("run dind: %w", err)
	}

	stopTimeout := 1 // seconds; the entry script exits well within it on TERM
	// One exec that waits inside (waitDaemonScript): an exec every 100 ms
	// cost the booting daemon a third of a core.
	ready := []string{"sh", "-c", waitDaemonScript, "sh", "0", strconv.Itoa(int(ReadyTimeout.Seconds())), string(flavour)}
	defaults := []testcontainers.ContainerCustomizer{
		testcontainers.WithLabels(map[string]string{labelHarness: "dind", labelFlavour: string(flavour), labelOwner: owner()}),
		testcontainers.WithConfigModifier(func(c *container.Config) {
			c.StopTimeout = &stopTimeout
			if flavour == Systemd {
				// systemd's way to be asked to shut down; the images
				// cannot carry it (docker import takes no STOPSIGNAL).
				c.StopSignal = "SIGRTMIN+3"
			}
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hostConfig(hc, privileged, flavour)
		}),
		testcontainers.WithWaitStrategyAndDeadline(ReadyTimeout+5*time.Second, wait.ForExec(ready).
			WithStartupTimeout(ReadyTimeout+5*time.Second).
			WithPollInterval(10*time.Millisecond)),
	}
	if useAgent() {
		// The exec agent goes in read-only, as the plugin does (WithPlugin).
		agent, err := toolBinary(ctx, execAgentPackage)
		if err != nil {
			return nil, fmt.Errorf("run dind: %w", err)
		}
		defaults = append(defaults, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: agent, Target: execAgentPath, ReadOnly: true})
		}))
	}
	// The request's socket dir (WithHostSocket), read once the options ran.
	var socketDir string
	seen := testcontainers.CustomizeRequestOption(func(req *testcontainers.GenericContainerRequest) error {
		socketDir = req.Labels[labelSocketDir]
		return nil
	})
	ctr, err := testcontainers.Run(ctx, image, append(append(defaults, opts...), seen)...)
	var d *DinD
	if ctr != nil {
		// Terminate removes the socket dir from now on (WithHostSocket).
		d = &DinD{Container: ctr, api: api, socketDir: socketDir, flavour: flavour}
	} else if socketDir != "" {
		// Never a container; one an option's failure left is swept.
		_ = removeSocketDir(socketDir)
	}
	if err != nil {
		if d != nil {
			if tail := d.daemonLogTail(ctx, 5); tail != "" {
				err = fmt.Errorf("%w; %s ends: %s", err, d.DaemonLogName(), tail)
			}
		}
		return d, fmt.Errorf("run dind: %w", err)
	}
	return d, nil
}

// hostConfig sets what the inner daemon needs: privileged where the host
// allows it, else every capability the host can give (not SYS_RESOURCE,
// whose absence from the bounding set is what breaks --privileged here), no
// seccomp or AppArmor filter, no masked or read-only /proc and /sys paths,
// and a cgroup namespace of its own. /var/lib/docker is an anonymous volume,
// since overlayfs cannot stack on the container's own overlay root; it goes
// away with the container. So is /var/lib/containerd, where a system
// containerd keeps the containerd image store's snapshots when dockerd
// runs with --containerd (docker-ce's docker.service, in Docker 29's
// systemd image). So is /srv, a disk of its own as on a server, where tests
// keep a data root outside /var/lib/docker (under a 0700 directory): on the
// overlay root Docker 29 cannot run a container there. systemd as PID 1
// also wants /run and /run/lock on tmpfs.
func hostConfig(hc *container.HostConfig, privileged bool, flavour Flavour) {
	hc.CgroupnsMode = container.CgroupnsModePrivate
	hc.Mounts = append(hc.Mounts,
		mount.Mount{Type: mount.TypeVolume, Target: "/var/lib/docker"},
		mount.Mount{Type: mount.TypeVolume, Target: "/var/lib/containerd"},
		mount.Mount{Type: mount.TypeVolume, Target: "/srv"})
	if flavour == Systemd {
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs["/run"] = "mode=755"
		hc.Tmpfs["/run/lock"] = "mode=1777"
	}
	if privileged {
		hc.Privileged = true
		return
	}
	hc.CapAdd = append(hc.CapAdd, "ALL")
	hc.CapDrop = append(hc.CapDrop, "SYS_RESOURCE")
	hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined", "apparmor=unconfined")
	hc.MaskedPaths = []string{}
	hc.ReadonlyPaths = []string{}
}

var (
	privilegedMu     sync.Mutex
	privilegedAnswer *bool
)

// canRunPrivileged tells whether the host starts privileged containers,
// asking it once per process with a throwaway container of image.
// USERNS_DIND_PRIVILEGED=0 or 1 answers without asking (=0 exercises the
// capability set on hosts where privileged would work).
func canRunPrivileged(ctx context.Context, api *client.Client, image string) (bool, error) {
	privilegedMu.Lock()
	defer privilegedMu.Unlock()
	if privilegedAnswer != nil {
		return *privilegedAnswer, nil
	}
	var ok bool
	switch v := os.Getenv("USERNS_DIND_PRIVILEGED"); v {
	case "0":
		ok = false
	case "1":
		ok = true
	case "":
		var err error
		if ok, err = probePrivileged(ctx, api, image); err != nil {
			return false, err
		}
	default:
		return false, fmt.Errorf("read USERNS_DIND_PRIVILEGED: %q is neither 0 nor 1", v)
	}
	privilegedAnswer = &ok
	return ok, nil
}

func probePrivileged(ctx context.Context, api *client.Client, image string) (bool, error) {
	created, err := api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:      image,
			Entrypoint: []string{"/bin/true"},
			Labels:     map[string]string{labelHarness: "probe", labelOwner: owner()},
		},
		HostConfig: &container.HostConfig{Privileged: true},
	})
	if err != nil {
		return false, fmt.Errorf("probe privileged containers: %w", err)
	}
	defer func() {
		// A fresh context: the probe container must go even if ctx ended.
		_, _ = api.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	// Here the start fails with "unable to apply caps" when the kernel's
	// bounding set lacks a capability; any failure means "not privileged".
	_, err = api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{})
	return err == nil, nil
}

var (
	hostMu  sync.Mutex
	hostAPI *client.Client
)

// hostClient returns the client for the Docker engine testcontainers uses
// (DOCKER_HOST, ~/.testcontainers.properties, the default socket).
func hostClient(ctx context.Context) (*client.Client, error) {
	hostMu.Lock()
	defer hostMu.Unlock()
	if hostAPI != nil {
		return hostAPI, nil
	}
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w (start it with `make docker`)", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return nil, fmt.Errorf("connect to docker: %w (start it with `make docker`)", err)
	}
	hostAPI = cli.Client
	return hostAPI, nil
}

// WithPlugin installs the plugin binary at hostPath into the container
// (PluginPath), so the inner `docker userns ...` runs it. It is
// bind-mounted read-only, not copied: a copy of its 28 MB into each of the
// sixty-odd hosts of `make conformance` cost the machine's daemon more than
// the bind mount ever will. Like WithHostSocket it needs the Docker engine
// on this machine.
func WithPlugin(hostPath string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		abs, err := filepath.Abs(hostPath)
		if err == nil {
			var info os.FileInfo
			if info, err = os.Stat(abs); err == nil && info.Mode()&0o111 == 0 {
				err = fmt.Errorf("%s is not executable", abs)
			}
		}
		if err != nil {
			return fmt.Errorf("install plugin: %w (build it with `make build`)", err)
		}
		return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: abs, Target: PluginPath, ReadOnly: true})
		})(req)
	}
}

// WithDockerdFlags gives the inner dockerd command-line flags, as a systemd
// unit's ExecStart would (e.g. "--userns-remap=agent"). The flags are
// written to DockerdFlagsPath and split on white space: the supervised
// entry script reads the file at each start of dockerd; in the systemd
// flavour the entry script puts them into DockerdFlagsDropIn at boot, so
// `systemctl show docker -p ExecStart,DropInPaths` shows them as it would
// an administrator's drop-in.
func WithDockerdFlags(flags ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		for _, f := range flags {
			if strings.ContainsAny(f, " \t\n") {
				return fmt.Errorf("set dockerd flags: %q holds white space", f)
			}
		}
		return testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader:            strings.NewReader(strings.Join(flags, " ") + "\n"),
			ContainerFilePath: DockerdFlagsPath,
			FileMode:          0o644,
		})(req)
	}
}

// WithDaemonJSON starts the inner daemon with content as its
// /etc/docker/daemon.json.
func WithDaemonJSON(content string) testcontainers.CustomizeRequestOption {
	return testcontainers.WithFiles(testcontainers.ContainerFile{
		Reader:            strings.NewReader(content),
		ContainerFilePath: DaemonJSONPath,
		FileMode:          0o644,
	})
}

// errNotRunning is returned by methods called on a nil DinD.
var errNotRunning = errors.New("dind container not running")
