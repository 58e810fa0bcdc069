package sshreach

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
)

// failingConn reads as commandconn does once its command exited: a clean
// exit is io.EOF, a failed one an error in words.
type failingConn struct {
	net.Conn
	err error
}

func (c failingConn) Read([]byte) (int, error) { return 0, c.err }

func TestTunnelConnTypesFailures(t *testing.T) {
	exited := errors.New("command [ssh -- s1 docker system dial-stdio] has exited with exit status 1: stderr=dial unix /var/run/docker.sock: connect: no such file or directory")
	for _, tc := range []struct {
		name   string
		err    error
		tunnel bool
	}{
		{"far side failed", exited, true},
		{"clean end", io.EOF, false},
		{"closed here", net.ErrClosed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dial := typedEnds(func(context.Context, string, string) (net.Conn, error) {
				return failingConn{err: tc.err}, nil
			})
			conn, err := dial(context.Background(), "tcp", "docker.sock")
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Read(make([]byte, 1))
			var tunnel *TunnelError
			if got := errors.As(err, &tunnel); got != tc.tunnel {
				t.Errorf("read error %v: TunnelError %v, want %v", err, got, tc.tunnel)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("read error %v does not wrap %v", err, tc.err)
			}
			if tc.err == io.EOF && err != io.EOF {
				t.Errorf("a clean end reads %v, not io.EOF itself (net/http compares with ==)", err)
			}
		})
	}
}
