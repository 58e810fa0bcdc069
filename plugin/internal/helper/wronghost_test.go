package helper

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// serveInfo serves GET /info on a unix socket from this process, as a
// forwarder on this machine (ssh -L, socat) passes on another machine's
// daemon.
func serveInfo(t *testing.T, body string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "forwarded.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// TestDaemonIsLocalSeesAForwardedDaemon is issue 12 case 7: a socket
// served by a process of this machine leads to a daemon whose data root and
// name are not this machine's: it is not local, whatever SO_PEERCRED says.
func TestDaemonIsLocalSeesAForwardedDaemon(t *testing.T) {
	sock := serveInfo(t, `{"ID":"remote-id","Name":"far-away-host","DockerRootDir":"/nonexistent/far/docker"}`)
	if DaemonIsLocal("unix://" + sock) {
		t.Errorf("a forwarded daemon counts as local")
	}
}

// TestDaemonIsLocalWithoutAListener: a socket nobody serves is this
// machine's only at the standard path (its daemon down); elsewhere it may
// be a forwarder that is gone.
func TestDaemonIsLocalWithoutAListener(t *testing.T) {
	if DaemonIsLocal("unix://" + filepath.Join(t.TempDir(), "gone.sock")) {
		t.Errorf("a socket nobody serves counts as local")
	}
}

// TestDaemonIsLocalTakesDockerdAtItsWord: when the process that listens,
// in this machine's root, is dockerd itself, there is no forwarder between
// and its identity is not asked (an Info costs the daemon two forks); any
// other local listener is asked.
func TestDaemonIsLocalTakesDockerdAtItsWord(t *testing.T) {
	var asked atomic.Int32
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ID":"remote-id","Name":"far-away-host","DockerRootDir":"/nonexistent/far/docker"}`))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	if isDockerd(os.Getpid()) {
		t.Fatalf("this test process counts as dockerd")
	}
	if DaemonIsLocal("unix://"+sock) || asked.Load() != 1 {
		t.Fatalf("a listener that is not dockerd: local, or asked %d times, want not local after one ask", asked.Load())
	}
	thisTestIsDockerd := thisMachine{root: localRoot(), isDockerd: func(pid int) bool { return pid == os.Getpid() }}
	if !daemonIsLocal("unix://"+sock, thisTestIsDockerd) || asked.Load() != 1 {
		t.Errorf("dockerd listening in this root: want local without asking, asked %d more times", asked.Load()-1)
	}
}
