package daemontest

import (
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"
)

// APIOnSocket serves handler on a unix socket in a temporary directory, as
// a daemon's API, and returns a real API client for it and the socket.
func APIOnSocket(t testing.TB, handler http.Handler) (client.APIClient, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return APIAt(t, sock), sock
}

// APIAt is the real API client for the unix socket sock, its API version
// pinned (no negotiation: a request goes out as the test wrote it).
func APIAt(t testing.TB, sock string) client.APIClient {
	t.Helper()
	api, err := client.New(client.WithHost("unix://"+sock), client.WithAPIVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api
}
