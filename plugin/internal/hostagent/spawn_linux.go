package hostagent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// readyLine is what the agent prints once it stands on its own.
const readyLine = "agent ready"

// spawnTimeout bounds the wait for the agent's ready line.
const spawnTimeout = 15 * time.Second

// nsenterPath is util-linux's nsenter, which every Linux host has; the
// agent uses the host's own to join the host's namespaces (Go cannot
// setns a mount namespace from its threads).
const nsenterPath = "/usr/bin/nsenter"

// Spawn starts the agent for the armed record of token and returns once it
// is ready. Run from a helper container whose root mount is the host
// (inHelper), the agent joins the namespaces of the host's PID 1 with the
// host's nsenter and runs from a memory copy of this binary, so no file of
// it lands on the host; otherwise it is this binary, detached.
func Spawn(root hostfs.Root, token string, inHelper bool) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start agent: find own binary: %w", err)
	}
	var cmd *exec.Cmd
	if inHelper {
		if !root.Exists(nsenterPath) {
			return fmt.Errorf("start agent: the host has no %s (util-linux): cannot join its namespaces", nsenterPath)
		}
		mem, err := memoryCopy(self)
		if err != nil {
			return fmt.Errorf("start agent: %w", err)
		}
		defer mem.Close()
		cmd = exec.Command(nsenterPath, "-t", "1", "-m", "-u", "-i", "-n", "--", "/proc/self/fd/3", Command, "--root", "/", token)
		cmd.ExtraFiles = []*os.File{mem}
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root.Dir(), Setsid: true}
		cmd.Dir = "/"
	} else {
		cmd = exec.Command(self, Command, "--root", root.Dir(), token)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l == readyLine {
			// The agent goes on alone; its exit is reaped by init.
			return cmd.Process.Release()
		}
		_ = cmd.Wait()
		return fmt.Errorf("start agent: %s", firstNonEmpty(strings.TrimSpace(stderr.String()), l, "it exited before it was ready"))
	case <-time.After(spawnTimeout):
		_ = cmd.Process.Kill()
		return fmt.Errorf("start agent: not ready within %s", spawnTimeout)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// memoryCopy copies a file into an anonymous memory file, inheritable.
func memoryCopy(path string) (*os.File, error) {
	fd, err := unix.MemfdCreate("docker-userns-agent", 0)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "docker-userns-agent")
	src, err := os.Open(path)
	if err != nil {
		mem.Close()
		return nil, err
	}
	defer src.Close()
	if _, err := io.Copy(mem, src); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy %s to memory: %w", path, err)
	}
	return mem, nil
}

// Main is the agent's entry: `__agent --root DIR TOKEN`.
func Main(args []string) int {
	if len(args) != 3 || args[0] != "--root" {
		fmt.Fprintln(os.Stderr, "usage: "+Command+" --root DIR TOKEN")
		return 2
	}
	// Whoever started the agent may be killed while it starts: the ready
	// line then goes to a pipe nobody reads, and by default Go exits on
	// SIGPIPE from a write to stdout, which left the change armed with no
	// agent to revert it. Asked for, SIGPIPE is only a failed write (Go's
	// os/signal: "SIGPIPE"); a handler, unlike SIG_IGN, is not inherited
	// by what the agent runs (systemctl).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	root, err := hostfs.Open(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ready := func() {
		fmt.Println(readyLine)
		// Whoever started the agent stops reading now; a later write to a
		// closed pipe would kill it.
		detachStdio()
	}
	if err := Run(context.Background(), root, args[2], ready); err != nil {
		fmt.Fprintln(os.Stderr, err)
		logf(root, "agent for change %s: %v", args[2], err) // stderr may go nowhere by now
		return 1
	}
	return 0
}

func detachStdio() {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	for _, fd := range []int{0, 1, 2} {
		_ = unix.Dup2(int(null.Fd()), fd)
	}
}
