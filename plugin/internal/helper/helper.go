// Package helper runs the plugin's own host-side code on the daemon's host
// when that host is not this machine: in a short-lived container started
// through the daemon's API, from an image made on the spot of the plugin's
// static binary (no registry), mounting the host root at /host and opted
// out of remapping. Only a client that may start privileged containers on
// the daemon can do this: the helper has the host's PID namespace, root's
// capabilities and the host's whole file system.
package helper

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// HostMount is where the helper sees the host root.
const HostMount = "/host"

// socketMount is where the helper sees the daemon's socket.
const socketMount = "/run/docker-userns.sock"

// Environment variables a helper reads to know its own container and image.
const (
	EnvContainer = "DOCKER_USERNS_HELPER_CONTAINER"
	EnvImage     = "DOCKER_USERNS_HELPER_IMAGE"
)

// capabilities are what the host part needs: write any host file, join the
// host's namespaces (nsenter), move the agent out of the helper's cgroup,
// signal dockerd. Asked one by one, not --privileged, which fails on a
// daemon whose own bounding set lacks some capability (nested daemons).
var capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETUID", "SETGID", "SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE",
}

// Runner starts helper containers on one daemon.
type Runner struct {
	API client.APIClient
	// Binary is the static plugin binary the helper image is made of.
	Binary string
	// Socket is the daemon's unix socket path on its host.
	Socket string
	// kept is the image shared by the calls of a Keeping runner.
	kept *keptImage
	// toEnd lets a started helper end (ToTheEnd); nil: ctx stops it.
	toEnd *toEnd
}

// Run runs the plugin with args in a helper container and returns what it
// printed and its exit status. The container is gone when Run returns,
// also when it fails, and so is the image, unless the runner keeps it.
func (r Runner) Run(ctx context.Context, args ...string) (probe.Result, error) {
	img, err := r.image(ctx)
	if err != nil {
		return probe.Result{}, fmt.Errorf("helper: %w", err)
	}
	res, err := r.runIn(ctx, img, args)
	if r.kept != nil && cerrdefs.IsNotFound(err) {
		// The daemon restarted onto another data root since the import.
		r.kept.forget(img)
		if img, err = r.image(ctx); err != nil {
			return probe.Result{}, fmt.Errorf("helper: %w", err)
		}
		res, err = r.runIn(ctx, img, args)
	}
	if r.kept == nil {
		if rmErr := img.Remove(context.WithoutCancel(ctx)); rmErr != nil && err == nil {
			err = &RemoveError{Err: rmErr}
		}
	}
	if err != nil {
		return res, fmt.Errorf("helper: %w", err)
	}
	return res, nil
}

func (r Runner) runIn(ctx context.Context, img probe.Image, args []string) (probe.Result, error) {
	opts := r.runOptions(img, args)
	if r.toEnd != nil {
		return r.toEnd.run(ctx, img, opts)
	}
	return img.Run(ctx, opts)
}

// runOptions is a helper container of img running the plugin with args.
func (r Runner) runOptions(img probe.Image, args []string) probe.RunOptions {
	name := "docker-userns-helper-" + randomSuffix()
	return probe.RunOptions{
		Name:         name,
		Entrypoint:   []string{probe.BinaryPath},
		Args:         args,
		Env:          []string{"DOCKER_HOST=unix://" + socketMount, EnvContainer + "=" + name, EnvImage + "=" + img.Ref, "HOME=/tmp"},
		Binds:        []string{"/:" + HostMount, r.Socket + ":" + socketMount},
		UsernsMode:   "host",
		PidMode:      "host",
		CgroupnsMode: "host",
		CapAdd:       capabilities,
		SecurityOpt:  []string{"seccomp=unconfined", "apparmor=unconfined", "label=disable"},
	}
}

// RemoveError is a helper that ran, whose image could not be removed
// afterwards. After a helper that armed the host agent, that is the
// agent's to judge: it restarts the daemon once it no longer sees the
// image, which can cut the removal's last step short ("error deleting
// lease: transport is closing", seen on 20.10 under load), and reverts by
// itself if the image stays.
type RemoveError struct{ Err error }

func (e *RemoveError) Error() string { return e.Err.Error() }
func (e *RemoveError) Unwrap() error { return e.Err }

// Self is the helper's own container and image, read from its
// environment ("" outside a helper).
func Self(getenv func(string) string) hostagent.HelperObjects {
	return hostagent.HelperObjects{Container: getenv(EnvContainer), Image: getenv(EnvImage)}
}

// Inside tells whether this process runs in a helper container.
func Inside(getenv func(string) string) bool { return getenv(EnvContainer) != "" }

// Failure words a helper's failed run: its last line on stderr.
func Failure(res probe.Result) error {
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		last = fmt.Sprintf("exited with status %d", res.ExitCode)
	}
	return fmt.Errorf("on the daemon's host: %s", last)
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
