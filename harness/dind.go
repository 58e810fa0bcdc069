package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	// DaemonLogPath is where the entry script appends dockerd's output.
	DaemonLogPath = "/var/log/dockerd.log"
	// DaemonPIDPath is dockerd's default pidfile.
	DaemonPIDPath = "/var/run/docker.pid"

	// ReadyTimeout bounds the wait for the inner daemon after start.
	ReadyTimeout = 60 * time.Second

	labelHarness = "org.docker-userns.harness"
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

	mu          sync.Mutex
	toolsCopied bool
}

// Run starts a DinD container from image (one of Versions) and waits until
// its inner daemon answers. Options are applied after the defaults, so the
// caller's win; note that testcontainers.WithHostConfigModifier replaces
// the harness's own modifier (capabilities, volume) rather than adding to
// it. On error the partly built container is returned too, for Cleanup.
// Tests mostly want Start, which also registers Cleanup.
func Run(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*DinD, error) {
	api, err := hostClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("run dind: %w", err)
	}
	if _, err := api.ImageInspect(ctx, image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("run dind: image %s missing: build it with `make dind-images`", image)
		}
		return nil, fmt.Errorf("run dind: inspect image %s: %w", image, err)
	}
	privileged, err := canRunPrivileged(ctx, api, image)
	if err != nil {
		return nil, fmt.Errorf("run dind: %w", err)
	}

	stopTimeout := 1 // seconds; the entry script exits well within it on TERM
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:  image,
			Labels: map[string]string{labelHarness: "dind"},
			ConfigModifier: func(c *container.Config) {
				c.StopTimeout = &stopTimeout
			},
			HostConfigModifier: func(hc *container.HostConfig) {
				hostConfig(hc, privileged)
			},
			WaitingFor: wait.ForExec([]string{"docker", "info"}).
				WithStartupTimeout(ReadyTimeout).
				WithPollInterval(100 * time.Millisecond),
		},
		Started: true,
	}
	for _, opt := range opts {
		if err := opt.Customize(&req); err != nil {
			discardSocketDir(&req)
			return nil, fmt.Errorf("run dind: %w", err)
		}
	}

	ctr, err := testcontainers.GenericContainer(ctx, req)
	var d *DinD
	if ctr != nil {
		// Terminate removes the socket dir from now on (WithHostSocket).
		d = &DinD{Container: ctr, api: api, socketDir: req.Labels[labelSocketDir]}
	} else {
		discardSocketDir(&req)
	}
	if err != nil {
		if d != nil {
			if tail := d.daemonLogTail(ctx, 5); tail != "" {
				err = fmt.Errorf("%w; dockerd log ends: %s", err, tail)
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
// away with the container.
func hostConfig(hc *container.HostConfig, privileged bool) {
	hc.CgroupnsMode = container.CgroupnsModePrivate
	hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Target: "/var/lib/docker"})
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
			Labels:     map[string]string{labelHarness: "probe"},
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
// (PluginPath), so the inner `docker userns ...` runs it.
func WithPlugin(hostPath string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if _, err := os.Stat(hostPath); err != nil {
			return fmt.Errorf("install plugin: %w (build it with `make build`)", err)
		}
		req.Files = append(req.Files, testcontainers.ContainerFile{
			HostFilePath:      hostPath,
			ContainerFilePath: PluginPath,
			FileMode:          0o755,
		})
		return nil
	}
}

// WithDockerdFlags gives the inner dockerd command-line flags, as a systemd
// unit's ExecStart would (e.g. "--userns-remap=agent"). The flags are
// written to DockerdFlagsPath and split on white space.
func WithDockerdFlags(flags ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		for _, f := range flags {
			if strings.ContainsAny(f, " \t\n") {
				return fmt.Errorf("set dockerd flags: %q holds white space", f)
			}
		}
		req.Files = append(req.Files, testcontainers.ContainerFile{
			Reader:            strings.NewReader(strings.Join(flags, " ") + "\n"),
			ContainerFilePath: DockerdFlagsPath,
			FileMode:          0o644,
		})
		return nil
	}
}

// WithDaemonJSON starts the inner daemon with content as its
// /etc/docker/daemon.json.
func WithDaemonJSON(content string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		req.Files = append(req.Files, testcontainers.ContainerFile{
			Reader:            strings.NewReader(content),
			ContainerFilePath: DaemonJSONPath,
			FileMode:          0o644,
		})
		return nil
	}
}

// errNotRunning is returned by methods called on a nil DinD.
var errNotRunning = errors.New("dind container not running")
