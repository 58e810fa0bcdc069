package commands

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// userns runs the real `docker userns ARGS...` through the docker CLI with
// the daemon at host, bounded by a minute; it returns stderr and the exit
// error.
func userns(t *testing.T, host string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"userns"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+completionConfig(t), "DOCKER_HOST="+host, "DOCKER_CONTEXT=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// TestBadRestartSavesNoImage: --restart is checked before any work. Before,
// it was parsed on each host once --keep-images had listed and saved the
// images: the daemon (here a socket that records what it is asked and
// answers every request with an error) was asked for its images first.
func TestBadRestartSavesNoImage(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"a recording socket, not a daemon"}`))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	stderr, err := userns(t, "unix://"+sock, "enable", "--keep-images", "--restart", "bogus", "agent")
	if err == nil || !strings.Contains(stderr, `invalid --restart "bogus"`) {
		t.Errorf("enable --keep-images --restart bogus: want a refusal naming --restart, got %v\n%s", err, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, req := range asked {
		if strings.Contains(req, "/images") {
			t.Errorf("the daemon was asked %s before --restart was checked (all: %q)", req, asked)
		}
	}
}

// TestBadLayoutExitsBeforeTheLock: --layout is checked before any work.
// Before, it was parsed by remap.Enable under the host lock: with the lock
// held by another run, enable waited for it (30 s) and never named the
// layout.
func TestBadLayoutExitsBeforeTheLock(t *testing.T) {
	root := t.TempDir()
	lock := filepath.Join(root, "var/lib/docker-userns/lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stderr, err := userns(t, "unix:///nonexistent.sock", "enable", "--root", root, "--restart", "none", "--layout", "bogus", "agent")
	if err == nil || !strings.Contains(stderr, `layout "bogus": want owner, contiguous or isolated`) || strings.Contains(stderr, "waiting for another") {
		t.Errorf("enable --layout bogus with the lock held: want a refusal naming the layout, without waiting for the lock; got %v after %s\n%s", err, time.Since(start), stderr)
	}
}
