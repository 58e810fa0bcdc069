package remap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon/daemontest"
	"github.com/docker-userns/docker-userns/plugin/internal/sshreach"
)

// dropping answers a request's headers, then drops the connection: a
// daemon stopped mid-answer.
func dropping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// The errors a daemon going away gives, as the real API client returns
// them, and errors that only read like it.
func TestIsUnreachable(t *testing.T) {
	ctx := context.Background()
	missing := daemontest.APIAt(t, filepath.Join(t.TempDir(), "docker.sock"))

	refusedSock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", refusedSock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, no one listens: connection refused
	refused := daemontest.APIAt(t, refusedSock)

	closing, _ := daemontest.APIOnSocket(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	dropped, _ := daemontest.APIOnSocket(t, http.HandlerFunc(dropping))

	reachable := []struct {
		name string
		err  func() error
	}{
		{"socket missing", func() error { _, err := missing.Ping(ctx, client.PingOptions{}); return err }},
		{"connection refused", func() error { _, err := refused.Ping(ctx, client.PingOptions{}); return err }},
		{"attach, socket missing", func() error {
			_, err := missing.ContainerAttach(ctx, "c", client.ContainerAttachOptions{Stream: true, Stdout: true})
			return fmt.Errorf("attach to probe container: %w", err)
		}},
		{"attach, connection refused", func() error {
			_, err := refused.ContainerAttach(ctx, "c", client.ContainerAttachOptions{Stream: true, Stdout: true})
			return err
		}},
		{"closed before answering", func() error { _, err := closing.Ping(ctx, client.PingOptions{}); return err }},
		{"dropped mid-answer", func() error {
			res := dropped.ContainerWait(ctx, "c", client.ContainerWaitOptions{})
			select {
			case err := <-res.Error:
				return fmt.Errorf("wait for probe container: %w", err)
			case r := <-res.Result:
				return fmt.Errorf("wait answered %v", r)
			}
		}},
		{"ssh: the far side's dial-stdio exited", func() error {
			return fmt.Errorf("helper collect: %w", &sshreach.TunnelError{Err: errors.New("command [ssh -- s1 docker system dial-stdio] has exited with exit status 1, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=dial unix /var/run/docker.sock: connect: no such file or directory")})
		}},
		{"a request's deadline", func() error { return fmt.Errorf("collect: %w", context.DeadlineExceeded) }},
	}
	for _, tc := range reachable {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); err == nil || !isUnreachable(err) {
				t.Errorf("isUnreachable(%v) = false, want true", err)
			}
		})
	}

	// Words alone do not make an outage: a helper that failed and said
	// "EOF" or "connection refused" on its stderr answered.
	for _, err := range []error{
		errors.New("helper collect: exit status 1: read record: unexpected EOF"),
		errors.New("helper status: dial tcp 10.0.0.1:2375: connect: connection refused"),
		fmt.Errorf("collect: %w", context.Canceled),
	} {
		if isUnreachable(err) {
			t.Errorf("isUnreachable(%v) = true, want false", err)
		}
	}
}
