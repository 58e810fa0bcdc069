package harness

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// CI jobs beside a Docker-in-Docker service.
//
// GitLab CI runs a job whose `services:` holds `docker:dind` as two
// containers on one network: the service, reachable from the job under the
// alias `docker`, and the job, whose docker CLI reaches it with
// DOCKER_HOST=tcp://docker:2375. NewNetwork, WithServiceAlias and
// DinDServiceFlags make a DinD host that service; RunJob runs the job's
// script in a container beside it. The network is internal and no port is
// published: the daemon's TCP listener is reachable from that network only.

// DinDServiceFlags are the dockerd flags docker:dind's entry script adds
// when TLS is off (DOCKER_TLS_CERTDIR=""): the unix socket and plain TCP on
// 2375 (docker-library/docker dockerd-entrypoint.sh). dockerd then waits
// 15 s at start, warning about TCP without TLS (moby cmd/dockerd/daemon.go,
// loadListeners), as the real service does.
var DinDServiceFlags = []string{"--host=unix:///var/run/docker.sock", "--host=tcp://0.0.0.0:2375"}

// NewNetwork makes an internal Docker network for the test (no route out,
// nothing published), removed when the test ends.
func NewNetwork(t testing.TB) *testcontainers.DockerNetwork {
	t.Helper()
	nw, err := network.New(t.Context(), network.WithInternal(),
		network.WithLabels(map[string]string{labelHarness: "network", labelOwner: owner()}))
	if err != nil {
		t.Fatalf("new docker network: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := nw.Remove(ctx); err != nil {
			t.Errorf("remove docker network %s: %v", nw.Name, err)
		}
	})
	return nw
}

// WithServiceAlias puts a container on nw only, reachable there as alias
// (a CI service's host name: `docker` for docker:dind).
func WithServiceAlias(nw *testcontainers.DockerNetwork, alias string) testcontainers.CustomizeRequestOption {
	return network.WithNetwork([]string{alias}, nw)
}

// JobDir is a job's working directory (GitLab's checkout), where its
// script runs.
const JobDir = "/builds/job"

// Job is a CI job: a script run with `sh -e` in JobDir, with env, and
// files of this machine bind-mounted read-only into JobDir (relative path
// -> host path), as a job's checkout or an earlier job's artifacts.
type Job struct {
	Script string
	Env    map[string]string
	Files  map[string]string
}

// JobResult is how a job ended: its exit code, its output (stdout and
// stderr), and the files of JobDir asked for (missing ones are absent).
type JobResult struct {
	ExitCode int
	Output   string
	Files    map[string][]byte
}

// RunJob runs job in a container of image on nw (a DinD image: it has the
// docker CLI; its entry script, which would start dockerd, is not run),
// waits until it ends (at most timeout), and reads back collect from
// JobDir. The container is removed before RunJob returns.
func RunJob(ctx context.Context, image string, nw *testcontainers.DockerNetwork, job Job, timeout time.Duration, collect ...string) (JobResult, error) {
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithLabels(map[string]string{labelHarness: "job", labelOwner: owner()}),
		network.WithNetwork(nil, nw),
		testcontainers.WithEntrypoint("sh", "-ec", job.Script),
		testcontainers.WithEnv(job.Env),
		testcontainers.WithConfigModifier(func(c *container.Config) { c.WorkingDir = JobDir }),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			for rel, src := range job.Files {
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: src, Target: JobDir + "/" + rel, ReadOnly: true})
			}
		}),
		testcontainers.WithWaitStrategyAndDeadline(timeout, wait.ForExit().WithExitTimeout(timeout)),
	}
	ctr, err := testcontainers.Run(ctx, image, opts...)
	if ctr != nil {
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = ctr.Terminate(rctx, testcontainers.StopTimeout(0))
		}()
	}
	if err != nil {
		return JobResult{}, fmt.Errorf("run job: %w", err)
	}
	state, err := ctr.State(ctx)
	if err != nil {
		return JobResult{}, fmt.Errorf("run job: %w", err)
	}
	res := JobResult{ExitCode: state.ExitCode, Files: map[string][]byte{}}
	if logs, err := ctr.Logs(ctx); err == nil {
		out, _ := io.ReadAll(logs)
		logs.Close()
		res.Output = string(out)
	}
	for _, rel := range collect {
		r, err := ctr.CopyFileFromContainer(ctx, JobDir+"/"+strings.TrimPrefix(rel, "/"))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(r)
		r.Close()
		if err == nil {
			res.Files[rel] = content
		}
	}
	return res, nil
}
