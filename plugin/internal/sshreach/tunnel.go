package sshreach

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
)

// TunnelError is an API connection over ssh that ended in failure: ssh, or
// `docker system dial-stdio` on the far side, exited with an error (as
// dial-stdio does when the daemon's socket is gone or refuses, mid-restart).
// docker/cli's commandconn says so in words only (v29.9.3
// cli/connhelper/commandconn/commandconn.go, handleEOF: fmt.Errorf with
// %v, "command ... has exited with ...: stderr=..."), and a hijacked stream
// (attach) passes it on as it is: the connection gives it this type, so
// that callers tell it with errors.As.
type TunnelError struct{ Err error }

func (e *TunnelError) Error() string { return "ssh connection to the daemon ended: " + e.Err.Error() }
func (e *TunnelError) Unwrap() error { return e.Err }

// typedEnds makes the connections dial opens fail with TunnelError.
func typedEnds(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return tunnelConn{conn}, nil
	}
}

// tunnelConn is an ssh API connection whose read and write failures are
// TunnelErrors. A clean end (io.EOF, which net/http compares against) and
// the connection closed by this side are passed on as they are.
type tunnelConn struct{ net.Conn }

func (c tunnelConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, tunnelErr(err)
}

func (c tunnelConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, tunnelErr(err)
}

func (c tunnelConn) CloseWrite() error { return closeWrite(c.Conn) }

func tunnelErr(err error) error {
	if err == nil || err == io.EOF || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
		return err
	}
	return &TunnelError{Err: err}
}
