package harness

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecResult is what a command run in the container did.
type ExecResult struct {
	Cmd      []string
	User     string // empty for the container's default, root
	ExitCode int
	Stdout   string
	Stderr   string
}

// ExitError is a command that ran but exited non-zero.
type ExitError struct {
	ExecResult
}

func (e *ExitError) Error() string {
	who := ""
	if e.User != "" {
		who = " as " + e.User
	}
	out := strings.TrimSpace(strings.TrimSpace(e.Stderr) + "\n" + strings.TrimSpace(e.Stdout))
	return fmt.Sprintf("exec %q%s: exit code %d: %s", strings.Join(e.Cmd, " "), who, e.ExitCode, out)
}

// Exec runs cmd in the container as root. The error reports only a failure
// to run it; a non-zero exit is in the result (see ExecOK).
func (d *DinD) Exec(ctx context.Context, cmd ...string) (ExecResult, error) {
	return d.ExecAs(ctx, "", cmd...)
}

// ExecAs runs cmd as user (a name or uid[:gid] known in the container), as
// `docker exec -u` would; it goes through the container's exec agent (see
// execAgent) unless USERNS_HARNESS_EXEC=docker.
func (d *DinD) ExecAs(ctx context.Context, user string, cmd ...string) (ExecResult, error) {
	res := ExecResult{Cmd: cmd, User: user, ExitCode: -1}
	if d == nil {
		return res, fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), errNotRunning)
	}
	if useAgent() {
		return d.execAgentRun(ctx, res)
	}
	return d.execDirect(ctx, res)
}

// execDirect runs res.Cmd as res.User with a docker exec of its own.
func (d *DinD) execDirect(ctx context.Context, res ExecResult) (ExecResult, error) {
	cmd, user := res.Cmd, res.User
	id := d.GetContainerID()
	created, err := d.api.ExecCreate(ctx, id, client.ExecCreateOptions{
		User:         user,
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          cmd,
	})
	if err != nil {
		return res, fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
	}
	att, err := d.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return res, fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
	}
	// The hijacked connection ignores ctx; closing it ends the copy.
	stop := context.AfterFunc(ctx, att.Close)
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, att.Reader)
	stop()
	att.Close()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	if err != nil {
		return res, fmt.Errorf("exec %q: read output: %w", strings.Join(cmd, " "), err)
	}
	// The stream can end a moment before the daemon records the exit code.
	for {
		insp, err := d.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return res, fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
		}
		if !insp.Running {
			res.ExitCode = insp.ExitCode
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ExecOK runs cmd as root and returns its stdout; a non-zero exit is an
// *ExitError carrying the command, exit code and output.
func (d *DinD) ExecOK(ctx context.Context, cmd ...string) (string, error) {
	return d.ExecAsOK(ctx, "", cmd...)
}

// ExecAsOK is ExecOK as user.
func (d *DinD) ExecAsOK(ctx context.Context, user string, cmd ...string) (string, error) {
	res, err := d.ExecAs(ctx, user, cmd...)
	if err != nil {
		return res.Stdout, err
	}
	if res.ExitCode != 0 {
		return res.Stdout, &ExitError{res}
	}
	return res.Stdout, nil
}

// execDetached starts cmd and returns without waiting for it.
func (d *DinD) execDetached(ctx context.Context, cmd ...string) error {
	created, err := d.api.ExecCreate(ctx, d.GetContainerID(), client.ExecCreateOptions{Cmd: cmd})
	if err != nil {
		return fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
	}
	if _, err := d.api.ExecStart(ctx, created.ID, client.ExecStartOptions{Detach: true}); err != nil {
		return fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
	}
	return nil
}
