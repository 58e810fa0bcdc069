package probe

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/poll"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// RunOptions says how to start a probe container.
type RunOptions struct {
	Args []string
	// Binds are bind mounts in the "host:container[:opts]" form.
	Binds []string
	// UsernsMode "host" opts the container out of remapping.
	UsernsMode string
	// User runs the probe as this container uid[:gid] instead of root.
	User string

	// What a helper container (the plugin run on the daemon's host) adds:
	// a known name, another entrypoint, environment, the host's PID and
	// cgroup namespaces, and capabilities.
	Name         string
	Entrypoint   []string
	Env          []string
	PidMode      string
	CgroupnsMode string
	CapAdd       []string
	SecurityOpt  []string
	// Stdin keeps the container's stdin open for Start's caller; it is
	// closed when the caller's attach ends (StdinOnce).
	Stdin bool
}

// role labels the container: a helper has a name, a probe none.
func (o RunOptions) role() string {
	if o.Name != "" {
		return "helper"
	}
	return "probe"
}

// Result is what a probe container did.
type Result struct {
	ExitCode int
	Stdout   string
	Stderr   string
}

// Run starts a container from the probe image, waits for it, collects its
// output and removes it, also when anything fails on the way.
func (img Image) Run(ctx context.Context, opts RunOptions) (Result, error) {
	res, remove, err := img.RunLeaving(ctx, opts)
	if rmErr := remove(); rmErr != nil && err == nil {
		err = rmErr
	}
	return res, err
}

// RunLeaving is Run without the container's removal, which it returns
// (remove, never nil, also when the run failed): the caller does it
// meanwhile with what comes next.
func (img Image) RunLeaving(ctx context.Context, opts RunOptions) (res Result, remove func() error, err error) {
	remove = func() error { return nil }
	created, err := img.api.ContainerCreate(ctx, img.createOptions(opts))
	if err != nil {
		return Result{}, remove, fmt.Errorf("create probe container: %w", err)
	}
	remove = img.remover(ctx, created.ID)
	// Attached before start, the output is complete when the stream ends;
	// logs read right after the exit can still miss it (seen on 26.1).
	att, err := img.api.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return Result{}, remove, fmt.Errorf("attach to probe container: %w", err)
	}
	defer att.Close()
	type output struct {
		stdout, stderr string
		err            error
	}
	done := make(chan output, 1)
	go func() {
		var o output
		o.stdout, o.stderr, o.err = demux(att.Reader)
		done <- o
	}()
	wait := img.api.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := img.api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return Result{}, remove, fmt.Errorf("start probe container: %w", err)
	}
	select {
	case status := <-wait.Result:
		res.ExitCode = int(status.StatusCode)
	case err := <-wait.Error:
		return Result{}, remove, startedError{fmt.Errorf("wait for probe container: %w", err)}
	}
	select {
	case o := <-done:
		res.Stdout, res.Stderr = o.stdout, o.stderr
		if o.err != nil {
			return res, remove, startedError{fmt.Errorf("read probe container output: %w", o.err)}
		}
	case <-time.After(outputGrace):
		return res, remove, startedError{fmt.Errorf("read probe container output: stream still open %s after the exit", outputGrace)}
	case <-ctx.Done():
		return res, remove, startedError{fmt.Errorf("read probe container output: %w", ctx.Err())}
	}
	return res, remove, nil
}

// createOptions is the container of opts, from this image.
func (img Image) createOptions(opts RunOptions) client.ContainerCreateOptions {
	return client.ContainerCreateOptions{
		Name: opts.Name,
		Config: &container.Config{Image: img.Ref, Cmd: opts.Args, User: opts.User, Entrypoint: opts.Entrypoint, Env: opts.Env, Labels: sweep.Labels(opts.role()),
			OpenStdin: opts.Stdin, StdinOnce: opts.Stdin, AttachStdin: opts.Stdin},
		HostConfig: &container.HostConfig{
			PidMode:      container.PidMode(opts.PidMode),
			CgroupnsMode: container.CgroupnsMode(opts.CgroupnsMode),
			CapAdd:       opts.CapAdd,
			SecurityOpt:  opts.SecurityOpt,
			Binds:        opts.Binds,
			UsernsMode:   container.UsernsMode(opts.UsernsMode),
			NetworkMode:  "none",
		},
	}
}

// remover removes container id, also once ctx has ended.
func (img Image) remover(ctx context.Context, id string) func() error {
	return func() error {
		if _, err := img.api.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true}); err != nil {
			return fmt.Errorf("remove probe container: %w", err)
		}
		return nil
	}
}

// startedError is a run that failed after its container started: the
// container may still run, or have ended with its output unread.
type startedError struct{ error }

func (e startedError) Unwrap() error { return e.error }

// Started tells whether err, from RunLeaving, came after the container
// started (Rejoin can follow it still).
func Started(err error) bool { return errors.As(err, new(startedError)) }

// outputGrace bounds the wait for the attach stream to end after the exit.
const outputGrace = 30 * time.Second

// Rejoin follows a container of this image that runs on while the run's
// own connection broke (a dropped ssh session): it reads the container's
// output from the daemon's log of it up to its end and its exit status,
// through new connections, dialled again until ctx ends. A container that
// is gone (never created, or removed) fails at once.
func (img Image) Rejoin(ctx context.Context, name string) (Result, error) {
	var res Result
	var last error
	err := poll.Until(ctx, 0, rejoinPoll, func(ctx context.Context) (bool, error) {
		res, last = img.rejoin(ctx, name)
		if cerrdefs.IsNotFound(last) {
			return false, last
		}
		return last == nil, nil
	})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return res, fmt.Errorf("rejoin probe container %s: %w (last: %v)", name, err, last)
	}
	return res, err
}

// rejoinPoll is how often Rejoin dials the daemon again.
const rejoinPoll = 500 * time.Millisecond

func (img Image) rejoin(ctx context.Context, name string) (Result, error) {
	// Followed, the log ends when the container stops: all of its output.
	logs, err := img.api.ContainerLogs(ctx, name, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return Result{}, err
	}
	defer logs.Close()
	var res Result
	if res.Stdout, res.Stderr, err = demux(logs); err != nil {
		return Result{}, err
	}
	wait := img.api.ContainerWait(ctx, name, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case status := <-wait.Result:
		res.ExitCode = int(status.StatusCode)
		return res, nil
	case err := <-wait.Error:
		return Result{}, err
	}
}
