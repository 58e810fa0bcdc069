package sshreach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/cli/cli/connhelper/ssh"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/poll"
)

// Sharing one ssh connection per host.
//
// The docker CLI's ssh endpoint runs a new `ssh ... docker system
// dial-stdio` for every API connection (connhelper.getConnectionHelper's
// Dialer: commandconn.New per dial), and an API client opens many: every
// attach to a helper or probe container is hijacked and never goes back to
// the pool, every wait holds one while it waits, and net/http keeps at most
// two idle (DefaultMaxIdleConnsPerHost). Each is an ssh login of its own:
// TCP, key exchange, authentication, a login shell, a docker CLI. The
// connhelper takes extra ssh flags (GetConnectionHelperWithSSHOpts), which
// the CLI's own contexts never pass: with OpenSSH's connection sharing the
// first connection to a host becomes a master in the background and the
// others are channels in it, so a command logs in once per host.

// muxPersist is how long a master outlives its last channel: long enough
// to bridge the gaps of one command (a restart, a wait), short enough that
// no ssh of ours stays long after the command ends.
const muxPersist = "30s"

// maxIdle is how many idle API connections a client keeps per host for
// reuse (net/http keeps two by default): a fleet command's reads run at
// once, and each connection not kept is a new channel later.
const maxIdle = 16

// ClientOpts are API client options for the ssh:// Docker endpoint host
// that share one ssh connection among all of the client's connections
// (OpenSSH's ControlMaster=auto, ControlPersist) through a control socket
// in MuxDir. They go after the endpoint's own options, which they replace
// for the transport. Without a configuration that ssh -G prints (OpenSSH
// before 6.8), there is nothing to share by, and without a private place
// for the socket nothing to share through: ClientOpts returns the CLI's
// own unshared dialer, and says the second once on w (the docker CLI's
// stderr). Either way a connection's failure is typed (TunnelError).
func ClientOpts(ctx context.Context, host string, w io.Writer) ([]client.Opt, error) {
	dir, refused := MuxDir()
	if len(refused) > 0 {
		sayOnce(w, unsharedNote(dir, refused))
	}
	var socket string
	if dir != "" {
		if key, err := destinationKey(ctx, host); err == nil {
			socket = filepath.Join(dir, key)
		}
	}
	if socket == "" {
		// Unshared: the CLI's own dialer (docker/cli v29.9.3
		// cli/context/docker/load.go, Endpoint.ClientOpts), typed.
		helper, err := connhelper.GetConnectionHelper(host)
		if err != nil {
			return nil, err
		}
		dial := typedEnds(helper.Dialer)
		return []client.Opt{
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: dial}}),
			client.WithHost(helper.Host),
			client.WithDialContext(dial),
		}, nil
	}
	flags := []string{"-o", "ControlMaster=auto", "-o", "ControlPath=" + socket, "-o", "ControlPersist=" + muxPersist}
	helper, err := connhelper.GetConnectionHelperWithSSHOpts(host, flags)
	if err != nil {
		return nil, err
	}
	dial := typedEnds(behindMaster(socket, helper.Dialer))
	transport := &http.Transport{DialContext: dial, MaxIdleConnsPerHost: maxIdle}
	return []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: transport}),
		client.WithHost(helper.Host),
		client.WithDialContext(dial),
	}, nil
}

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

var (
	mastersMu sync.Mutex
	// masters holds, per control socket, a channel closed once the first
	// dial of this process to it has its master up (or gave up).
	masters = map[string]chan struct{}{}
)

// masterWait bounds how long later dials wait for the first one's master:
// past it they log in themselves.
const masterWait = 30 * time.Second

// behindMaster makes the dials of this process to one control socket wait
// while the first one is logging in: ControlMaster=auto lets every ssh
// that starts before the master's socket exists log in on its own (a
// command's first calls, and the sweep beside it, start together: two
// logins, seen in TestSSHLoginsOfAStatus). The first dial goes at once;
// the others go once its socket exists, or its connection ended (a login
// that failed), or masterWait passed.
func behindMaster(socket string, dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		mastersMu.Lock()
		up, waiting := masters[socket]
		if !waiting {
			up = make(chan struct{})
			masters[socket] = up
		}
		mastersMu.Unlock()
		if waiting {
			select {
			case <-up:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return dial(ctx, network, addr)
		}
		var once sync.Once
		release := func() { once.Do(func() { close(up) }) }
		conn, err := dial(ctx, network, addr)
		if err != nil {
			release()
			return nil, err
		}
		go func() {
			// Not the dial's ctx, which ends with the dial: the wait
			// serves the dials behind it, each of which honours its own.
			_ = poll.Until(context.Background(), masterWait, 20*time.Millisecond, func(context.Context) (bool, error) {
				_, err := os.Stat(socket)
				return err == nil, nil
			})
			release()
		}()
		return &releasingConn{Conn: conn, release: release}, nil
	}
}

// releasingConn is the first dial's connection: its end (a login that
// failed) lets the dials waiting behind it go.
type releasingConn struct {
	net.Conn
	release func()
}

func (c *releasingConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// destinationKey names the control socket of host: a hash of the whole
// configuration ssh applies to it (ssh -G: host name, port, user, proxy,
// identity...). OpenSSH's own %C hashes only the local and remote names,
// port and user, so two configurations that send one name to two machines
// (an ssh -F of their own, as the test hosts' each give s1 to another
// container) would share a master, and a command would reach the other
// machine. Sharing across commands stays for one configuration.
func destinationKey(ctx context.Context, host string) (string, error) {
	u, err := url.Parse(host)
	if err != nil {
		return "", err
	}
	sp, err := ssh.NewSpec(u)
	if err != nil {
		return "", err
	}
	args := []string{"-G"}
	if sp.User != "" {
		args = append(args, "-l", sp.User)
	}
	if sp.Port != "" {
		args = append(args, "-p", sp.Port)
	}
	out, err := exec.CommandContext(ctx, "ssh", append(args, "--", sp.Host)...).Output()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(out)
	return hex.EncodeToString(sum[:keyLen/2]), nil
}

// Where control sockets go. A socket's path is bounded by sun_path (108
// bytes with its NUL), and OpenSSH's master first listens on the
// ControlPath plus a 17-character suffix (".", 16 random characters:
// mux.c muxserver_listen) and renames it: a path that leaves no room for
// the suffix makes every ssh fail ("too long for Unix domain socket"; a
// Jenkins @tmp workspace's $TMPDIR does it). So the socket goes in the
// first place of muxPlaces that is this user's alone and short enough:
// $XDG_RUNTIME_DIR, the temp dir, /tmp, ~/.docker; with none, ssh is not
// shared. A place another user owns is refused, never used nor changed,
// and said once.
const (
	sunPathMax    = 108 - 1 // bytes of a socket path, its NUL not counted
	masterSuffix  = 17      // OpenSSH's ".XXXXXXXXXXXXXXXX" on the listening socket
	keyLen        = 16      // hex characters of destinationKey
	muxPathBudget = sunPathMax - masterSuffix - 1 - keyLen
)

// muxPlaces are the directories control sockets may go in, best first.
func muxPlaces() []string {
	base := fmt.Sprintf("docker-userns-ssh-%d", os.Getuid())
	var places []string
	// Only a runtime dir of this user's (sudo -E keeps another user's).
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(xdg) && ownDir(xdg) {
		places = append(places, filepath.Join(xdg, "docker-userns-ssh"))
	}
	places = append(places, filepath.Join(os.TempDir(), base))
	if os.TempDir() != "/tmp" {
		places = append(places, filepath.Join("/tmp", base))
	}
	if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
		places = append(places, filepath.Join(home, ".docker", "userns-ssh"))
	}
	return places
}

// MuxDir is the directory of this user's ssh control sockets, the first
// of muxPlaces that fits (privateDir), and why places before it were
// refused (a path too long for a socket is passed over in silence); ""
// when none fits, with every reason.
func MuxDir() (dir string, refused []error) {
	var tooLong []error
	for _, place := range muxPlaces() {
		if len(place) > muxPathBudget {
			tooLong = append(tooLong, fmt.Errorf("%s: too long for a socket path (%d bytes, at most %d)", place, len(place), muxPathBudget))
			continue
		}
		if err := privateDir(place); err != nil {
			refused = append(refused, err)
			continue
		}
		return place, refused
	}
	return "", append(refused, tooLong...)
}

// privateDir makes dir 0700 (its parents 0700 too, when missing) and
// checks that it is a directory of this user's alone: a socket there is a
// logged-in session to a daemon's host.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	owner, ok := ownerOf(info)
	if !info.IsDir() || !ok || owner != os.Getuid() || info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is not a directory of this user's alone (owner %d, mode %v)", dir, owner, info.Mode())
	}
	return nil
}

// ownDir tells whether dir is a directory (not a link to one) of this user.
func ownDir(dir string) bool {
	info, err := os.Lstat(dir)
	if err != nil || !info.IsDir() {
		return false
	}
	owner, ok := ownerOf(info)
	return ok && owner == os.Getuid()
}

// said holds the notes about control sockets said already: each once per
// process, however many clients a command makes.
var said sync.Map

// sayOnce writes note on w unless this process said it already.
func sayOnce(w io.Writer, note string) {
	if _, dup := said.LoadOrStore(note, true); !dup {
		fmt.Fprintln(w, note)
	}
}

// unsharedNote is what a command says when a place was refused: where the
// sockets went instead, or that ssh is not shared.
func unsharedNote(dir string, refused []error) string {
	if dir != "" {
		return fmt.Sprintf("warning: ssh control sockets: %v: using %s instead", errors.Join(refused...), dir)
	}
	return fmt.Sprintf("warning: ssh connections are not shared, each API connection logs in by itself: no place for control sockets: %v", errors.Join(refused...))
}

// CloseWrite keeps the half-close that hijacked API connections (attach)
// use: commandconn has it.
func (c *releasingConn) CloseWrite() error { return closeWrite(c.Conn) }

func closeWrite(conn net.Conn) error {
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("ssh connection: no half-close")
	}
	return cw.CloseWrite()
}
