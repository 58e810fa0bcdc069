package helper

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// armingDaemon plays a daemon on which the arming helper runs well and
// prints an armed change, but its image cannot be removed afterwards; any
// later import fails. Calls it does not expect panic (the embedded nil
// interface).
type armingDaemon struct {
	client.APIClient
	answer string

	mu      sync.Mutex
	imports int
}

func (d *armingDaemon) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	return client.EventsResult{Messages: make(chan events.Message), Err: make(chan error)}
}

func (d *armingDaemon) ImageImport(_ context.Context, src client.ImageImportSource, _ string, _ client.ImageImportOptions) (client.ImageImportResult, error) {
	_, _ = io.Copy(io.Discard, src.Source)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.imports++; d.imports > 1 {
		return nil, errors.New("import refused: the test's daemon imports one image")
	}
	return io.NopCloser(strings.NewReader(`{"status":"sha256:0123"}` + "\n")), nil
}

func (d *armingDaemon) ContainerCreate(context.Context, client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	return client.ContainerCreateResult{ID: "helper0"}, nil
}

// ContainerAttach streams the answer on stdout, multiplexed as the daemon
// does (an 8-byte header: stream 1, the size big-endian).
func (d *armingDaemon) ContainerAttach(context.Context, string, client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	var stream bytes.Buffer
	header := make([]byte, 8)
	header[0] = 1
	binary.BigEndian.PutUint32(header[4:], uint32(len(d.answer)))
	stream.Write(header)
	stream.WriteString(d.answer)
	conn, _ := net.Pipe()
	return client.ContainerAttachResult{HijackedResponse: client.HijackedResponse{Conn: conn, Reader: bufio.NewReader(&stream)}}, nil
}

func (d *armingDaemon) ContainerWait(context.Context, string, client.ContainerWaitOptions) client.ContainerWaitResult {
	res := make(chan container.WaitResponse, 1)
	res <- container.WaitResponse{StatusCode: 0}
	return client.ContainerWaitResult{Result: res, Error: make(chan error)}
}

func (d *armingDaemon) ContainerStart(context.Context, string, client.ContainerStartOptions) (client.ContainerStartResult, error) {
	return client.ContainerStartResult{}, nil
}

func (d *armingDaemon) ContainerRemove(context.Context, string, client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	return client.ContainerRemoveResult{}, nil
}

func (d *armingDaemon) ImageRemove(context.Context, string, client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	return client.ImageRemoveResult{}, errors.New("error deleting lease: transport is closing")
}

// progressSignal is a progress writer that closes seen once a line holds want.
type progressSignal struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (p *progressSignal) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	if strings.Contains(p.buf.String(), p.want) {
		p.once.Do(func() { close(p.seen) })
	}
	return len(b), nil
}

func (p *progressSignal) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// TestChangeGoesOnWhenTheArmingHelpersImageStays: a helper that armed the
// host agent, whose image could not be removed afterwards (the agent's
// restart cut the removal short), does not end Change: the agent is armed
// and judges the image itself, so Change goes on to wait for the restart.
func TestChangeGoesOnWhenTheArmingHelpersImageStays(t *testing.T) {
	var armed strings.Builder
	if err := remap.WriteWire(&armed, remap.Outcome{Action: "enable", Result: remap.ArmedForClient, Pending: &remap.Pending{Token: "t0", ConfirmTimeout: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "docker-userns")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	api := &armingDaemon{answer: armed.String()}
	progress := &progressSignal{want: "restarting:", seen: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Once Change waits for the restart, the test interrupts it; its ask
	// to revert then fails on the test daemon's refused import.
	go func() {
		select {
		case <-progress.seen:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := Change(ctx, ChangeOptions{
		Runner:   Runner{API: api, Binary: bin, Socket: "/var/run/docker.sock"},
		Argv:     []string{"enable", "--arm-only", "--", "agent"},
		Timeout:  time.Second,
		Progress: progress,
	})
	select {
	case <-progress.seen:
	default:
		t.Fatalf("Change ended before waiting for the host agent's restart: %v\nprogress:\n%s", err, progress)
	}
	var removeErr *RemoveError
	if errors.As(err, &removeErr) {
		t.Errorf("Change reported the arming helper's image removal: %v", err)
	}
}

// ServerVersion says the daemon is of this machine's platform, so that
// probe and helper images are made of this plugin's own programs.
func (*armingDaemon) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: runtime.GOOS, Arch: runtime.GOARCH}, nil
}
