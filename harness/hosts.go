package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

const (
	// HostSocketDir is where WithHostSocket mounts its host directory in
	// the container; the inner dockerd's second socket is docker.sock in it.
	HostSocketDir = "/run/userns-host"
	// DefaultSocket is the inner dockerd's usual socket, which the DinD
	// image's own docker CLI and the harness's exec commands use.
	DefaultSocket = "unix:///var/run/docker.sock"

	hostSocketName = "docker.sock"
	// labelSocketDir carries the host directory from WithHostSocket to Run
	// (and shows it in `docker inspect`).
	labelSocketDir = labelHarness + ".host-socket-dir"
	// maxSocketPath is sun_path's 108 bytes less the terminating NUL.
	maxSocketPath = 107
	// hostSocketTimeout bounds the wait for the host socket once the inner
	// daemon answers on its default one (both listen from the same start).
	hostSocketTimeout = 10 * time.Second
)

// WithHostSocket makes the inner daemon reachable from the machine running
// the test as a unix socket, never TCP: a fresh host directory (see
// SocketPath) is bind-mounted at HostSocketDir and dockerd listens on
// DefaultSocket and on docker.sock there. The -H flags go on the entry
// script's command line, after the words of DockerdFlagsPath, so
// WithDockerdFlags and tests that rewrite that file keep the socket; a
// daemon.json with "hosts" would make dockerd refuse to start. In the
// systemd flavour docker.socket keeps DefaultSocket (dockerd -H fd://) and
// the entry script puts the second -H into DockerdFlagsDropIn. The
// directory goes when the container is terminated. Run waits until the
// socket answers from this side. It needs the Docker engine on this
// machine (a bind mount of a local path); applying it twice is a no-op.
func WithHostSocket() testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if req.Labels[labelSocketDir] != "" {
			return nil
		}
		// Short: the socket path must fit in sun_path. Under the
		// harness's own dir, where the sweep finds those left behind.
		parent, err := harnessTempDir()
		if err != nil {
			return fmt.Errorf("make host socket dir: %w", err)
		}
		dir, err := os.MkdirTemp(parent, socketDirPrefix)
		if err != nil {
			return fmt.Errorf("make host socket dir: %w", err)
		}
		sock := filepath.Join(dir, hostSocketName)
		if len(sock) > maxSocketPath {
			os.Remove(dir)
			return fmt.Errorf("make host socket dir: %s is longer than %d bytes, too long for a unix socket (set a shorter TMPDIR)", sock, maxSocketPath)
		}
		var args []string
		if Flavour(req.Labels[labelFlavour]) != Systemd {
			args = append(args, "-H", DefaultSocket)
		} // else docker.socket holds DefaultSocket, passed as -H fd://
		args = append(args, "-H", "unix://"+HostSocketDir+"/"+hostSocketName)
		for _, opt := range []testcontainers.CustomizeRequestOption{
			testcontainers.WithLabels(map[string]string{labelSocketDir: dir}),
			testcontainers.WithCmdArgs(args...),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: dir, Target: HostSocketDir})
			}),
			testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
				PostReadies: []testcontainers.ContainerHook{func(ctx context.Context, _ testcontainers.Container) error {
					return waitHostSocket(ctx, sock)
				}},
				PostTerminates: []testcontainers.ContainerHook{func(context.Context, testcontainers.Container) error {
					return removeSocketDir(dir)
				}},
			}),
		} {
			if err := opt(req); err != nil {
				_ = removeSocketDir(dir)
				return err
			}
		}
		return nil
	}
}

func removeSocketDir(dir string) error {
	// The socket in it belongs to the container's root, which is root here.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove host socket dir: %w", err)
	}
	return nil
}

// waitHostSocket polls sock until a daemon answers a ping on it.
func waitHostSocket(ctx context.Context, sock string) error {
	api, err := client.New(client.WithHost("unix://" + sock))
	if err != nil {
		return fmt.Errorf("wait for host socket %s: %w", sock, err)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(ctx, hostSocketTimeout)
	defer cancel()
	for {
		_, err := api.Ping(ctx, client.PingOptions{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for host socket %s: %w (last: %v)", sock, ctx.Err(), err)
		case <-time.After(daemonPollInterval):
		}
	}
}

// SocketPath is the path, on the machine running the test, of the socket
// WithHostSocket gave the inner daemon; "" without that option.
func (d *DinD) SocketPath() string {
	if d == nil || d.socketDir == "" {
		return ""
	}
	return filepath.Join(d.socketDir, hostSocketName)
}

// DockerHost is SocketPath as a DOCKER_HOST value (unix://...); "" without
// WithHostSocket.
func (d *DinD) DockerHost() string {
	if p := d.SocketPath(); p != "" {
		return "unix://" + p
	}
	return ""
}

// CreateContext makes a Docker context name for d's host socket in the
// docker CLI configuration directory configDir (its --config), with the
// machine's own docker CLI, so `docker --config DIR --context NAME ...`
// drives d's inner daemon as a remote host would be driven.
func CreateContext(ctx context.Context, configDir, name string, d *DinD) error {
	host := d.DockerHost()
	if host == "" {
		return fmt.Errorf("create docker context %s: container started without WithHostSocket", name)
	}
	if err := dockerCLI(ctx, "--config", configDir, "context", "create", name, "--docker", "host="+host); err != nil {
		return fmt.Errorf("create docker context %s: %w", name, err)
	}
	return nil
}

// RemoveContext removes the Docker context name from configDir.
func RemoveContext(ctx context.Context, configDir, name string) error {
	if err := dockerCLI(ctx, "--config", configDir, "context", "rm", "--force", name); err != nil {
		return fmt.Errorf("remove docker context %s: %w", name, err)
	}
	return nil
}

func dockerCLI(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// RunHosts starts n DinD hosts from image side by side, each with opts and
// WithHostSocket (applied last, so it survives a WithCmd in opts), and
// returns them in order. If one fails to start, all are terminated (socket
// directories included) once every start has ended, and the first failure
// is returned. Tests mostly want StartHosts.
func RunHosts(ctx context.Context, image string, n int, opts ...testcontainers.ContainerCustomizer) ([]*DinD, error) {
	if n < 1 {
		return nil, fmt.Errorf("run hosts: want at least one host, got %d", n)
	}
	hosts := make([]*DinD, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A slice of its own: appending to opts would share its array.
			own := append(append([]testcontainers.ContainerCustomizer(nil), opts...), WithHostSocket())
			hosts[i], errs[i] = Run(ctx, image, own...)
		})
	}
	wg.Wait()
	var first error
	for i, err := range errs {
		if err != nil {
			first = fmt.Errorf("run hosts: host %d of %d: %w", i+1, n, err)
			break
		}
	}
	if first == nil {
		return hosts, nil
	}
	// Not ctx: it may be what ended the starts.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var terr []error
	for _, d := range hosts {
		if d != nil && d.Container != nil {
			if err := d.Terminate(tctx, testcontainers.StopTimeout(0)); err != nil {
				terr = append(terr, err)
			}
		}
	}
	if len(terr) > 0 {
		return nil, fmt.Errorf("%w; and cleaning up: %w", first, errors.Join(terr...))
	}
	return nil, first
}

// StartHosts is RunHosts for a test: it registers Cleanup for every host
// and fails the test when they cannot start.
func StartHosts(t testing.TB, image string, n int, opts ...testcontainers.ContainerCustomizer) []*DinD {
	t.Helper()
	opts = append([]testcontainers.ContainerCustomizer{testcontainers.WithLogger(tclog.TestLogger(t))}, opts...)
	hosts, err := RunHosts(t.Context(), image, n, opts...)
	if err != nil {
		t.Fatalf("%v (the harness needs a Docker engine, `make docker`, and its images, `make dind-images`)", err)
	}
	for _, d := range hosts {
		Cleanup(t, d)
	}
	return hosts
}
