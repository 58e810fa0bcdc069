package main_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/internal/pluginbuild"
)

// hookedPlugin is the plugin built with -tags testhooks: at a step whose
// gate exists on the host root it waits (plugin/internal/remap/testhooks.go).
var hookedPlugin = pluginbuild.Once{Tags: []string{"testhooks"}}

// pauseDir is testhooks.go's pauseDir: a gate there named for a step
// pauses the plugin at that step.
const pauseDir = "/run/docker-userns-pause"

// changedFiles are the files an enable may change.
const changedFiles = "/etc/subuid /etc/subgid /etc/docker/daemon.json"

// interrupted is one host for an interrupted change through the daemon: a
// DinD host with the user agent, reached through a context (h1) of a
// docker config holding the hooked plugin, directly or through a proxy.
type interrupted struct {
	t      *testing.T
	d      *harness.DinD
	config string
	proxy  *socketProxy
	before string // the files' hashes before the change
}

func newInterrupted(t *testing.T, v harness.Version, viaProxy bool) *interrupted {
	t.Helper()
	pluginConfig, err := hookedPlugin.ConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	d := harness.StartHosts(t, v.Image, 1)[0]
	d.MustExec(t, "useradd", "-r", "-M", "agent")
	h := &interrupted{t: t, d: d, config: t.TempDir()}
	if err := os.Symlink(filepath.Join(pluginConfig, "cli-plugins"), filepath.Join(h.config, "cli-plugins")); err != nil {
		t.Fatal(err)
	}
	host := d.DockerHost()
	if viaProxy {
		h.proxy = startSocketProxy(t, d.SocketPath())
		host = "unix://" + h.proxy.path
	}
	if res := dockerWith(t, h.config, "context", "create", "h1", "--docker", "host="+host); res.code != 0 {
		t.Fatalf("create the context: %s", res.stderr)
	}
	h.before = h.hashes()
	return h
}

// hashes are the changed files' hashes, "absent" for a file not there.
func (h *interrupted) hashes() string {
	return h.d.MustExec(h.t, "sh", "-c", "for f in "+changedFiles+`; do sha256sum "$f" 2>/dev/null || echo "$f absent"; done`)
}

// gate makes the plugin pause at step.
func (h *interrupted) gate(step string) {
	h.d.MustExec(h.t, "sh", "-c", "mkdir -p "+pauseDir+" && touch "+pauseDir+"/"+step)
}

// release lets the paused plugin go on.
func (h *interrupted) release(step string) {
	h.d.MustExec(h.t, "rm", "-f", pauseDir+"/"+step)
}

// waitReached waits until the plugin pauses at step.
func (h *interrupted) waitReached(step string, c *runningCLI) {
	h.t.Helper()
	res, err := h.d.Exec(h.t.Context(), "sh", "-c", "for i in $(seq 1200); do test -e "+pauseDir+"/"+step+".reached && exit 0; sleep 0.1; done; exit 1")
	if err != nil || res.ExitCode != 0 {
		h.t.Fatalf("the plugin never paused at %s (%v):\n%s", step, err, c.output())
	}
}

// helperGone tells whether no helper container is on the host.
func (h *interrupted) helperGone() bool {
	return h.d.MustExec(h.t, "docker", "ps", "-aq", "--filter", "name=docker-userns-helper") == ""
}

// record is the agent's record on the host, "" when there is none, and
// whether the agent it names runs.
func (h *interrupted) record() (record string, agentRuns bool) {
	rec := h.d.MustExec(h.t, "sh", "-c", "cat /var/lib/docker-userns/pending.json 2>/dev/null; true")
	if rec == "" {
		return "", false
	}
	var r struct {
		AgentPID int `json:"agentPid"`
	}
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		h.t.Fatalf("the agent's record: %v\n%s", err, rec)
	}
	cmdline := h.d.MustExec(h.t, "sh", "-c", "tr '\\0' ' ' < /proc/"+strconv.Itoa(r.AgentPID)+"/cmdline 2>/dev/null; true")
	return rec, r.AgentPID > 0 && strings.Contains(cmdline, "__agent")
}

// daemonPID is the host's dockerd.
func (h *interrupted) daemonPID() int {
	pid, err := h.d.DaemonPID(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	return pid
}

// remapped is the daemon's answer: whether it remaps (name=userns).
func (h *interrupted) remapped() bool {
	out := h.d.MustExec(h.t, "docker", "info", "--format", "{{json .SecurityOptions}}")
	return strings.Contains(out, "name=userns")
}

// runningCLI is the docker CLI running a plugin command in the background.
type runningCLI struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	code int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startCLI runs docker with config, in a process group of its own.
func startCLI(t *testing.T, config string, args ...string) *runningCLI {
	t.Helper()
	c := &runningCLI{cmd: exec.Command("docker", args...), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := c.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			c.code = ee.ExitCode()
		} else if err != nil {
			c.code = -1
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	})
	return c
}

func (c *runningCLI) output() string { return c.out.String() }

// pluginPID is the plugin process the docker CLI runs.
func (c *runningCLI) pluginPID(t *testing.T) int {
	t.Helper()
	// The CLI starts the plugin from one of its threads: look at each.
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/task/*/children")
	for _, task := range tasks {
		children, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(children)) {
			if comm, _ := os.ReadFile("/proc/" + f + "/comm"); strings.TrimSpace(string(comm)) == "docker-userns" {
				pid, _ := strconv.Atoi(f)
				return pid
			}
		}
	}
	t.Fatalf("no docker-userns process under the docker CLI (pid %d)", c.cmd.Process.Pid)
	return 0
}

// wait waits for the CLI to exit, within limit.
func (c *runningCLI) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(limit):
		t.Fatalf("the client did not exit within %s:\n%s", limit, c.output())
	}
	return 0
}

// until polls cond every 100 ms until it holds, within limit.
func until(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// socketProxy forwards a unix socket to another (the DinD host's), and can
// drop every connection it carries while it goes on accepting: a dropped
// connection (an ssh session cut) that the next request dials again.
type socketProxy struct {
	path   string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	target string
	// asked is every request line sent through the proxy.
	asked strings.Builder
}

func startSocketProxy(t *testing.T, target string) *socketProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "userns-proxy")
	if err != nil {
		t.Fatal(err)
	}
	p := &socketProxy{path: filepath.Join(dir, "docker.sock"), conns: map[net.Conn]struct{}{}, target: target}
	l, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); p.drop(); os.RemoveAll(dir) })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(io.MultiWriter(out, p.requests()), in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// requests records what clients send (a request line fits in one write).
func (p *socketProxy) requests() io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		if line, _, ok := strings.Cut(string(b), "\r\n"); ok && strings.HasSuffix(line, " HTTP/1.1") {
			p.mu.Lock()
			p.asked.WriteString(line + "\n")
			p.mu.Unlock()
		}
		return len(b), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// saw tells whether a request whose line holds s went through.
func (p *socketProxy) saw(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Contains(p.asked.String(), s)
}

// drop closes every connection the proxy carries now.
func (p *socketProxy) drop() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	return n / 2
}

// TestInterruptedChangeThroughTheDaemon is issue 23 case 10: an enable
// through the daemon whose client is interrupted (SIGINT, SIGTERM) or
// loses its connection while the helper container is between writing the
// host's files and arming the agent, or between arming the agent and the
// agent's start. The plugin is paused there by a gate (testhooks). After
// the client exits, the host is in a state the client named: the files
// reverted (interrupted) or the change verified and kept (a connection
// dropped and dialled again), never files changed with no agent or an
// armed record with no agent, and the daemon answers as reported.
func TestInterruptedChangeThroughTheDaemon(t *testing.T) {
	cases := []struct {
		name   string
		step   string
		signal syscall.Signal // 0: drop the connection instead
	}{
		{"written/SIGINT", "written", syscall.SIGINT},
		{"armed/SIGTERM", "armed", syscall.SIGTERM},
		{"armed/dropped", "armed", 0},
	}
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				h := newInterrupted(t, v, tc.signal == 0)
				dockerd := h.daemonPID()
				h.gate(tc.step)
				c := startCLI(t, h.config, "--context", "h1", "userns", "enable", "--confirm-timeout", "3m", "agent")
				h.waitReached(tc.step, c)
				if tc.signal != 0 {
					if err := syscall.Kill(c.pluginPID(t), tc.signal); err != nil {
						t.Fatal(err)
					}
				} else if n := h.proxy.drop(); n == 0 {
					t.Fatal("the proxy carried no connection to drop")
				}
				// The client either removes the helper (mid-change) or
				// lets it end (says so, or follows its log through a
				// new connection): then the gate opens.
				until(t, "the client removes the helper or lets it end", 2*time.Minute, func() bool {
					return strings.Contains(c.output(), "letting the helper") || (h.proxy != nil && h.proxy.saw("/logs?")) || h.helperGone()
				})
				h.release(tc.step)
				code := c.wait(t, 5*time.Minute)
				out := c.output()
				t.Logf("the client (exit %d) said:\n%s", code, out)

				rec, agentRuns := h.record()
				if rec != "" && !agentRuns {
					t.Errorf("an armed record with no agent is left on the host:\n%s", rec)
				}
				files := h.hashes()
				if tc.signal != 0 {
					until(t, "the agent's revert ends", 2*time.Minute, func() bool { r, _ := h.record(); return r == "" })
					if code == 0 || !strings.Contains(out, "interrupted") {
						t.Errorf("exit %d, want non-zero, saying it was interrupted", code)
					}
					if files != h.before {
						t.Errorf("the host's files after the interrupted enable:\n%s\nwant them as before:\n%s", files, h.before)
					}
					if h.remapped() {
						t.Errorf("the daemon remaps after an interrupted enable")
					}
					// Asked while the agent waits for the helper's
					// removal, the revert comes before any restart.
					if !strings.Contains(out, "restored /etc/subuid, /etc/subgid, /etc/docker/daemon.json before the daemon was restarted") {
						t.Errorf("the client does not say the files were restored before any restart")
					}
					if pid := h.daemonPID(); pid != dockerd {
						t.Errorf("dockerd is pid %d, was %d: it was restarted", pid, dockerd)
					}
				} else {
					if code != 0 || !h.remapped() || files == h.before {
						t.Errorf("dropped connection: exit %d, daemon remaps %v, files changed %v: want the change verified and kept",
							code, h.remapped(), files != h.before)
					}
				}
				if !h.helperGone() {
					t.Errorf("a helper container is left on the host")
				}
			})
		}
	})
}

// TestInterruptedConfirmThroughTheDaemon is issue 23 case 11: the client
// is interrupted (SIGINT) while the helper that confirms the change has
// removed the agent's record (the change is kept) and not yet answered.
// What the client says is what happened: kept, not "reverts by itself".
func TestInterruptedConfirmThroughTheDaemon(t *testing.T) {
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		h := newInterrupted(t, v, false)
		h.gate("confirmed")
		c := startCLI(t, h.config, "--context", "h1", "userns", "enable", "agent")
		h.waitReached("confirmed", c)
		if err := syscall.Kill(c.pluginPID(t), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		until(t, "the client removes the helper or says it lets it finish", 2*time.Minute, func() bool {
			return strings.Contains(c.output(), "letting the helper") || h.helperGone()
		})
		h.release("confirmed")
		code := c.wait(t, 5*time.Minute)
		out := c.output()
		t.Logf("the client (exit %d) said:\n%s", code, out)
		if rec, _ := h.record(); rec != "" {
			t.Errorf("a record is left after the confirmation:\n%s", rec)
		}
		if !h.remapped() {
			t.Fatalf("the daemon does not remap: the change was not kept")
		}
		// What it says once interrupted is what became of the change.
		_, after, _ := strings.Cut(out, "interrupted")
		if code != 0 || strings.Contains(after, "reverts by itself") || !strings.Contains(after, "is kept") {
			t.Errorf("exit %d: the client does not say the change was kept", code)
		}
		st := dockerWith(t, h.config, "--context", "h1", "userns", "status", "--format", "{{.Daemon.Remapped}} {{.Setting}}")
		if strings.TrimSpace(st.stdout) != "true agent" {
			t.Errorf("status after: %q %s", st.stdout, st.stderr)
		}
	})
}
