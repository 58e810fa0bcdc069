package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/docker-userns/docker-userns/internal/procstart"
)

// KeepFailedEnv names the switch that keeps the containers of failed tests.
const KeepFailedEnv = "USERNS_KEEP_FAILED"

// Cleanup registers with t the removal of d's container and volumes, also
// when the test fails. With USERNS_KEEP_FAILED=1 a failed test's container
// is kept, and the log says how to reach and remove it. Call it right after
// Run, before checking Run's error: Run returns a partly built container
// with its error. A nil d is fine.
func Cleanup(t testing.TB, d *DinD) {
	t.Helper()
	t.Cleanup(func() {
		if d == nil || d.Container == nil {
			return
		}
		id := d.GetContainerID()
		if t.Failed() && os.Getenv(KeepFailedEnv) == "1" {
			if err := markKept(id); err != nil {
				t.Errorf("keep DinD container %s: %v (the next test run may remove it)", short(id), err)
			}
			logCmd := "cat " + DaemonLogPath
			if d.Flavour() == Systemd {
				logCmd = "journalctl -u " + DockerService
			}
			t.Logf("%s=1: kept DinD container %s of failed %s\n  inspect: docker exec -it %s bash\n  daemon log: docker exec %s %s\n  remove: docker rm -fv %s",
				KeepFailedEnv, short(id), t.Name(), short(id), short(id), logCmd, short(id))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Zero stop timeout: KILL at once; nothing in the container is worth
		// a graceful stop, and the volumes go with it.
		if err := d.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil {
			t.Errorf("remove DinD container %s: %v", short(id), err)
		}
	})
}

// Start runs a DinD container for the test, registers its Cleanup and fails
// the test (t.Fatal) when it cannot start; the message says what to do
// (start Docker, `make dind-images`). The container lives until t ends.
func Start(t testing.TB, image string, opts ...testcontainers.ContainerCustomizer) *DinD {
	t.Helper()
	// The container's log lines go to the test's log, shown on failure or -v.
	opts = append([]testcontainers.ContainerCustomizer{testcontainers.WithLogger(tclog.TestLogger(t))}, opts...)
	d, err := Run(t.Context(), image, opts...)
	Cleanup(t, d)
	if err != nil {
		t.Fatalf("%v (the harness needs a Docker engine, `make docker`, and its images, `make dind-images`)", err)
	}
	return d
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

const (
	// labelOwner names the test process that made a container, as
	// "HOST/PID/START" (START: the process's start time in clock ticks after
	// boot, so a reused pid is not taken for the owner).
	labelOwner = labelHarness + ".owner"
	// socketDirPrefix starts the names of WithHostSocket's directories in
	// harnessTempDir.
	socketDirPrefix = "sock-"
	// staleSocketDirAge is how old a socket dir that no container names
	// must be before the sweep removes it: a Run of another process may be
	// between making it and creating its container.
	staleSocketDirAge = 10 * time.Minute
)

var (
	ownerOnce  sync.Once
	ownerValue string
	sweepMu    sync.Mutex
	swept      bool
)

// owner is this process's labelOwner value.
func owner() string {
	ownerOnce.Do(func() {
		host, _ := os.Hostname()
		ownerValue = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), procstart.Of(os.Getpid()))
	})
	return ownerValue
}

// harnessTempDir is this user's directory for the harness's files (built
// tools, host socket dirs), made on first use.
func harnessTempDir() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("docker-userns-harness-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// keptNamePrefix starts the name a kept container is given (markKept): its
// owner is gone once the test process ends, and the sweep leaves it to the
// person who asked to keep it. Labels cannot change after create; names can.
const keptNamePrefix = "docker-userns-kept-"

func markKept(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api, err := hostClient(ctx)
	if err != nil {
		return err
	}
	_, err = api.ContainerRename(ctx, id, client.ContainerRenameOptions{NewName: keptNamePrefix + short(id)})
	return err
}

func isKept(names []string) bool {
	for _, n := range names {
		if strings.HasPrefix(strings.TrimPrefix(n, "/"), keptNamePrefix) {
			return true
		}
	}
	return false
}

// sweepOnce runs sweepOrphans at the first Run of the process.
func sweepOnce(ctx context.Context, api *client.Client) error {
	sweepMu.Lock()
	defer sweepMu.Unlock()
	if swept {
		return nil
	}
	removed, err := sweepOrphans(ctx, api)
	if err != nil {
		return err
	}
	swept = true
	if len(removed) > 0 {
		tclog.Printf("harness: removed %d container(s) left by test processes that are gone: %s", len(removed), strings.Join(removed, ", "))
	}
	return nil
}

// sweepOrphans removes what a killed test process left behind (Cleanup
// never ran): the containers whose labelOwner names a process of this
// machine that is gone, with their volumes and host socket dirs, and
// socket dirs older than staleSocketDirAge that no container names.
// Containers of running processes (other tests), of other machines, those
// kept on request (markKept) and those without the label are left alone.
// It returns the short ids removed.
func sweepOrphans(ctx context.Context, api *client.Client) ([]string, error) {
	list, err := api.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", labelHarness),
	})
	if err != nil {
		return nil, fmt.Errorf("sweep left containers: %w", err)
	}
	host, _ := os.Hostname()
	named := map[string]bool{}
	var removed []string
	for _, c := range list.Items {
		dir := c.Labels[labelSocketDir]
		if !orphaned(c.Labels[labelOwner], host) || isKept(c.Names) {
			named[dir] = true
			continue
		}
		// Conflict: the sweep of another test process, started at the same
		// time, is removing it (moby daemon/delete.go: "removal of container
		// ... is already in progress"). Gone or going is what we want.
		switch _, err := api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); {
		case err == nil:
			removed = append(removed, short(c.ID))
		case cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err):
		default:
			return removed, fmt.Errorf("sweep left container %s: %w", short(c.ID), err)
		}
		if dir != "" {
			_ = removeSocketDir(dir)
		}
	}
	parent, err := harnessTempDir()
	if err != nil {
		return removed, fmt.Errorf("sweep left socket dirs: %w", err)
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		dir := filepath.Join(parent, e.Name())
		if !e.IsDir() || !strings.HasPrefix(e.Name(), socketDirPrefix) || named[dir] {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleSocketDirAge {
			_ = removeSocketDir(dir)
		}
	}
	return removed, nil
}

// orphaned tells whether the owner label value names a process of host
// that is gone (its pid free, or taken by a process started later).
func orphaned(label, host string) bool {
	h, rest, ok := strings.Cut(label, "/")
	if !ok || h != host {
		return false
	}
	pidText, start, ok := strings.Cut(rest, "/")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || pid <= 0 || start == "" {
		return false
	}
	return procstart.Of(pid) != start
}
