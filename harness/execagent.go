package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/docker-userns/docker-userns/harness/internal/execproto"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

const (
	// ExecModeEnv names the switch that makes every Exec a `docker exec` of
	// its own (USERNS_HARNESS_EXEC=docker), as before the exec agent: to
	// compare the two, or should the agent misbehave somewhere.
	ExecModeEnv = "USERNS_HARNESS_EXEC"

	execAgentPath    = "/usr/local/libexec/docker-userns-harness/exec-agent"
	execAgentPackage = "github.com/docker-userns/docker-userns/harness/cmd/exec-agent"
)

// execAgent is the harness/cmd/exec-agent process of one container, started
// with one `docker exec -i` on the first Exec: each later Exec, ReadFile
// and WriteFile is a line to it and a line back, a fork inside the
// container instead of a runc exec (about 0.2 CPU-seconds each on the
// 2-core test machine, most of a scenario's cost before).
type execAgent struct {
	conn client.HijackedResponse
	wmu  sync.Mutex // one request line at a time

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan execproto.Reply
	ended   error // why the agent is gone; nil while it runs
	stderr  strings.Builder
	done    chan struct{}
}

// useAgent tells whether Execs go through the exec agent.
func useAgent() bool {
	return os.Getenv(ExecModeEnv) != "docker"
}

// agent returns d's exec agent, starting it the first time; a start that
// failed is not retried.
func (d *DinD) agent(ctx context.Context) (*execAgent, error) {
	d.agentOnce.Do(func() {
		a, err := startExecAgent(context.WithoutCancel(ctx), d)
		d.mu.Lock()
		d.execAgent, d.agentErr = a, err
		d.mu.Unlock()
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.execAgent, d.agentErr
}

// startExecAgent starts the agent that Run bind-mounted at execAgentPath.
func startExecAgent(ctx context.Context, d *DinD) (*execAgent, error) {
	created, err := d.api.ExecCreate(ctx, d.GetContainerID(), client.ExecCreateOptions{
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          []string{execAgentPath},
	})
	if err != nil {
		return nil, fmt.Errorf("start exec agent: %w", err)
	}
	att, err := d.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("start exec agent: %w", err)
	}
	a := &execAgent{conn: att.HijackedResponse, waiting: map[uint64]chan execproto.Reply{}, done: make(chan struct{})}
	go a.read()
	return a, nil
}

// read hands each reply to its waiter until the stream ends.
func (a *execAgent) read() {
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, agentStderr{a}, a.conn.Reader)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
	}()
	dec := json.NewDecoder(bufio.NewReader(pr))
	for {
		var rep execproto.Reply
		if err := dec.Decode(&rep); err != nil {
			a.end(err)
			return
		}
		a.mu.Lock()
		ch := a.waiting[rep.ID]
		delete(a.waiting, rep.ID)
		a.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// agentStderr keeps what the agent itself says, for the error when it ends.
type agentStderr struct{ a *execAgent }

func (w agentStderr) Write(p []byte) (int, error) {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if w.a.stderr.Len() < 4096 {
		w.a.stderr.Write(p)
	}
	return len(p), nil
}

func (a *execAgent) end(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ended != nil {
		return
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("the exec agent ended (the container stopped?)")
	}
	if s := strings.TrimSpace(a.stderr.String()); s != "" {
		err = fmt.Errorf("%w: %s", err, s)
	}
	a.ended = err
	close(a.done)
	a.conn.Close()
}

// do sends req and waits for its reply.
func (a *execAgent) do(ctx context.Context, req execproto.Request) (execproto.Reply, error) {
	ch := make(chan execproto.Reply, 1)
	a.mu.Lock()
	if a.ended != nil {
		err := a.ended
		a.mu.Unlock()
		return execproto.Reply{}, err
	}
	a.next++
	req.ID = a.next
	a.waiting[req.ID] = ch
	a.mu.Unlock()
	line, err := json.Marshal(req)
	if err == nil {
		a.wmu.Lock()
		_, err = a.conn.Conn.Write(append(line, '\n'))
		a.wmu.Unlock()
	}
	if err != nil {
		a.mu.Lock()
		delete(a.waiting, req.ID)
		a.mu.Unlock()
		return execproto.Reply{}, fmt.Errorf("exec agent: %w", err)
	}
	select {
	case rep := <-ch:
		return rep, nil
	case <-a.done:
		return execproto.Reply{}, a.ended
	case <-ctx.Done():
		// The command runs on, as a docker exec whose client left would.
		a.mu.Lock()
		delete(a.waiting, req.ID)
		a.mu.Unlock()
		return execproto.Reply{}, ctx.Err()
	}
}

func (a *execAgent) close() {
	a.end(errors.New("the exec agent was closed"))
}

// execAgentRun runs cmd as user through the agent.
func (d *DinD) execAgentRun(ctx context.Context, res ExecResult) (ExecResult, error) {
	a, err := d.agent(ctx)
	if err != nil {
		return res, fmt.Errorf("exec %q: %w", strings.Join(res.Cmd, " "), err)
	}
	rep, err := a.do(ctx, execproto.Request{User: res.User, Cmd: res.Cmd})
	if err != nil {
		return res, fmt.Errorf("exec %q: %w", strings.Join(res.Cmd, " "), err)
	}
	if rep.Err != "" {
		return res, fmt.Errorf("exec %q: %s", strings.Join(res.Cmd, " "), rep.Err)
	}
	res.ExitCode, res.Stdout, res.Stderr = rep.Exit, string(rep.Stdout), string(rep.Stderr)
	return res, nil
}

// agentWrite writes a file through the agent.
func (d *DinD) agentWrite(ctx context.Context, path string, content []byte, mode fs.FileMode) error {
	a, err := d.agent(ctx)
	if err != nil {
		return err
	}
	rep, err := a.do(ctx, execproto.Request{Path: path, Data: content, Mode: uint32(mode.Perm())})
	if err != nil {
		return err
	}
	if rep.Err != "" {
		return errors.New(rep.Err)
	}
	return nil
}
