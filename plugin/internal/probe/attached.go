package probe

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Attached is a started container whose stdin and stdout its caller
// holds (RunOptions.Stdin): a helper that serves several requests.
type Attached struct {
	// Stdout is the container's stdout as it comes.
	Stdout io.Reader
	att    client.HijackedResponse
	wait   client.ContainerWaitResult
	remove func() error

	mu     sync.Mutex
	stderr strings.Builder
	copied chan struct{}
}

// Start creates and starts a container from the image with its stdin
// open, attached before the start so that no output is missed. Remove
// removes it, also when Start failed part way (then it is not nil).
func (img Image) Start(ctx context.Context, opts RunOptions) (*Attached, error) {
	opts.Stdin = true
	a := &Attached{remove: func() error { return nil }, copied: make(chan struct{})}
	created, err := img.api.ContainerCreate(ctx, img.createOptions(opts))
	if err != nil {
		return a, fmt.Errorf("create helper container: %w", err)
	}
	a.remove = img.remover(ctx, created.ID)
	// The attach and the wait outlive ctx: an interrupted client still
	// asks its revert through them.
	keep := context.WithoutCancel(ctx)
	att, err := img.api.ContainerAttach(keep, created.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return a, fmt.Errorf("attach to helper container: %w", err)
	}
	a.att = att.HijackedResponse
	pr, pw := io.Pipe()
	a.Stdout = pr
	go func() {
		defer close(a.copied)
		_, err := stdcopy.StdCopy(pw, lockedWriter{&a.mu, &a.stderr}, a.att.Reader)
		pw.CloseWithError(err)
	}()
	a.wait = img.api.ContainerWait(keep, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := img.api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		a.att.Close()
		return a, fmt.Errorf("start helper container: %w", err)
	}
	return a, nil
}

// Send writes one line to the container's stdin.
func (a *Attached) Send(line string) error {
	_, err := io.WriteString(a.att.Conn, line+"\n")
	return err
}

// Wait returns once the container has exited, with its exit status and
// what it wrote on stderr.
func (a *Attached) Wait(ctx context.Context) (Result, error) {
	var res Result
	select {
	case status := <-a.wait.Result:
		res.ExitCode = int(status.StatusCode)
	case err := <-a.wait.Error:
		return res, fmt.Errorf("wait for helper container: %w", err)
	case <-ctx.Done():
		return res, ctx.Err()
	}
	select {
	case <-a.copied:
	case <-ctx.Done():
	}
	a.mu.Lock()
	res.Stderr = a.stderr.String()
	a.mu.Unlock()
	return res, nil
}

// Remove ends the attach and removes the container, running or not.
func (a *Attached) Remove() error {
	if a.att.Conn != nil {
		a.att.Close()
	}
	return a.remove()
}

// lockedWriter is a writer under a mutex.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
