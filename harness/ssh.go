package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// SSH test hosts.
//
// Operators reach fleets with `docker context create --docker
// host=ssh://user@host`: the docker CLI runs `ssh user@host docker system
// dial-stdio` and speaks the API over that ssh session, whose far side is
// the host's own docker CLI. An SSH makes DinD hosts reachable that way
// with no IP traffic at all:
//
//	ssh (this machine, the real client, key auth, known_hosts checked)
//	  ProxyCommand: docker exec -i HOST /opt/userns-ssh/sshd-inetd
//	    sshd -i (in the host: one connection on stdin/stdout, inetd mode)
//	      login as SSHUser, /bin/sh -c "docker system dial-stdio"
//	        the host's own docker CLI -> the host's /var/run/docker.sock
//
// Why this shape. The sshd is Debian's OpenSSH server, unpacked (never
// installed nor started here) by scripts/ensure-sshd and copied with the
// libraries ldd names into each host at AddHost, where it runs on its own
// loader: the DinD images (harness/dind/images.conf) stay as they are, so
// no image is rebuilt (~10-15 min each here) and the same bookworm sshd
// serves every Docker version's host, whatever its Debian suite. The ssh
// server, the login user, the login shell and the docker CLI at the far
// end are the host's, as on a server; only the byte pipe under ssh is
// `docker exec -i` instead of TCP, the kind of pipe a ProxyCommand gives
// (a bastion, socat). An sshd on this machine with a ForceCommand into the
// host would have put the server off the host; socat in the host would
// need copying too and add nothing ssh can tell.
//
// OpenSSH reads ~/.ssh/config from the home of the passwd entry, not from
// $HOME (ssh.c, process_config_files), so a test cannot hand it a config
// of its own but with -F: Env puts first on the PATH a directory whose
// `ssh` is the real one with -F and this SSH's ssh_config. The docker CLI
// and the plugin look ssh up on the PATH (docker/cli
// cli/connhelper/connhelper.go, getConnectionHelper: commandconn.New(ctx,
// "ssh", ...)).

const (
	// SSHUser is the account ssh contexts log in as: an operator's deploy
	// user, not root, in the docker group (as the Docker docs' ssh example).
	SSHUser = "deploy"
	// SSHDLog is the ssh server's log in a host (sshd -E).
	SSHDLog = "/var/log/userns-sshd.log"

	// sshUID and sshPrivsepUID are fixed, outside the system range that
	// tests' `useradd -r` take ids from (999 down), so that agent still
	// gets the ids the tests expect.
	sshUID        = "2000"
	sshPrivsepUID = "150"
	// sshHostDir is where AddHost puts the server side in a host.
	sshHostDir = "/opt/userns-ssh"
	// defaultSSHDRoot is where scripts/ensure-sshd unpacks openssh-server
	// (USERNS_SSHD_ROOT overrides both).
	defaultSSHDRoot = "/var/cache/docker-userns/openssh"
)

// SSH is the client side of ssh test hosts in one directory: a key pair,
// an ssh_config with a Host entry per host, known_hosts, and bin/ssh (see
// Env). Every Host entry has BatchMode yes, as a CI job's ssh would: ssh
// never waits on a prompt.
type SSH struct {
	dir    string
	server []tarFile // the server side (sshd, its libraries, sshd-inetd)

	mu sync.Mutex
}

// NewSSH makes an SSH in dir (a test's temp dir): a client key, an empty
// config, and the server side read from this machine (scripts/ensure-sshd
// put it there).
func NewSSH(ctx context.Context, dir string) (*SSH, error) {
	server, err := sshServer()
	if err != nil {
		return nil, fmt.Errorf("new ssh: %w", err)
	}
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		return nil, fmt.Errorf("new ssh: no ssh client here (`make sshd` installs it): %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("new ssh: %w", err)
	}
	s := &SSH{dir: dir, server: server}
	if err := keygen(ctx, s.path("id_ed25519")); err != nil {
		return nil, fmt.Errorf("new ssh: %w", err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\n# The real ssh with the test's own config (OpenSSH ignores $HOME).\nexec %s -F %s \"$@\"\n", sshPath, s.path("ssh_config"))
	for name, content := range map[string]string{"bin/ssh": wrapper, "ssh_config": "", "known_hosts": ""} {
		if err := os.WriteFile(s.path(name), []byte(content), 0o755); err != nil {
			return nil, fmt.Errorf("new ssh: %w", err)
		}
	}
	return s, nil
}

func (s *SSH) path(name string) string { return filepath.Join(s.dir, name) }

// Env is the environment for a docker CLI that reaches the hosts through
// ssh contexts: this process's, with bin/ssh first on the PATH.
func (s *SSH) Env() []string {
	return append(os.Environ(), "PATH="+s.path("bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Client is the ssh command that Env puts first on the PATH: the real ssh
// with this SSH's config.
func (s *SSH) Client() string { return s.path("bin/ssh") }

// URL is the ssh:// address of the host added as name.
func (s *SSH) URL(name string) string { return "ssh://" + SSHUser + "@" + name }

// sshHost is how AddHost sets up one host's server.
type sshHost struct {
	passwordOnly bool
}

// SSHHostOption changes how AddHost sets up a host's server.
type SSHHostOption func(*sshHost)

// SSHPasswordOnly makes a host whose server takes passwords, not this
// client's key: ssh would ask for a password, and in BatchMode gives up
// with "Permission denied (publickey,password)".
func SSHPasswordOnly() SSHHostOption {
	return func(h *sshHost) { h.passwordOnly = true }
}

// AddHost makes d reachable as the ssh host name (ssh name, URL(name)):
// it copies the server side into d with a host key and an sshd_config of
// name's own (in /opt/userns-ssh/hosts/NAME: one container may serve
// several names, say one with SSHPasswordOnly), adds SSHUser (uid 2000,
// group docker) and sshd's privilege separation user, and adds name to the
// client's ssh_config and known_hosts.
func (s *SSH) AddHost(ctx context.Context, name string, d *DinD, opts ...SSHHostOption) error {
	var h sshHost
	for _, o := range opts {
		o(&h)
	}
	if d == nil || d.Container == nil {
		return fmt.Errorf("add ssh host %s: %w", name, errNotRunning)
	}
	if !sshHostName.MatchString(name) {
		return fmt.Errorf("add ssh host %q: want letters, digits, '.', '-' or '_'", name)
	}
	hostKey := s.path("host_" + name)
	if err := keygen(ctx, hostKey); err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	archive, err := s.hostArchive(name, hostKey, h)
	if err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	if _, err := d.api.CopyToContainer(ctx, d.GetContainerID(), client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(archive)}); err != nil {
		return fmt.Errorf("add ssh host %s: copy the server into %s: %w", name, short(d.GetContainerID()), err)
	}
	users := `getent passwd sshd >/dev/null || useradd -r -M -u ` + sshPrivsepUID + ` -d /run/sshd -s /usr/sbin/nologin sshd
getent passwd ` + SSHUser + ` >/dev/null || useradd -m -u ` + sshUID + ` -G docker -s /bin/sh ` + SSHUser + `
usermod -p '*' ` + SSHUser // '!' (useradd's) is a locked account to sshd
	if _, err := d.ExecOK(ctx, "sh", "-ec", users); err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("add ssh host %s: no docker CLI here for the ProxyCommand: %w", name, err)
	}
	api, err := hostClient(ctx)
	if err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	entry := fmt.Sprintf(`Host %s
  User %s
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
  BatchMode yes
  ProxyCommand %s --host %s exec -i %s %s/sshd-inetd %s
`, name, SSHUser, s.path("id_ed25519"), s.path("known_hosts"), docker, api.DaemonHost(), d.GetContainerID(), sshHostDir, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := appendFile(s.path("ssh_config"), entry); err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	if err := appendFile(s.path("known_hosts"), name+" "+string(hostPub)); err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	return nil
}

// AddSilentHost adds the ssh host name whose connection never answers,
// as a machine that is off: its ProxyCommand only waits, so ssh gives up
// after its ConnectTimeout (30 s as the docker CLI sets it) with
// "Connection timed out during banner exchange". The wait ends by itself
// and holds no stderr of ssh's: an ssh killed by its caller (SIGTERM)
// leaves its ProxyCommand running, and a caller that reads ssh's stderr
// to its end (os/exec's Wait in the docker CLI's commandconn) would wait
// for it.
func (s *SSH) AddSilentHost(name string) error {
	if !sshHostName.MatchString(name) {
		return fmt.Errorf("add ssh host %q: want letters, digits, '.', '-' or '_'", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := fmt.Sprintf("Host %s\n  User %s\n  BatchMode yes\n  ProxyCommand sleep 45 2>/dev/null\n", name, SSHUser)
	if err := appendFile(s.path("ssh_config"), entry); err != nil {
		return fmt.Errorf("add ssh host %s: %w", name, err)
	}
	return nil
}

// CreateContext makes a Docker context name in configDir whose host is
// URL(name), as an operator would: `docker context create NAME --docker
// host=ssh://deploy@NAME`.
func (s *SSH) CreateContext(ctx context.Context, configDir, name string) error {
	if err := dockerCLI(ctx, "--config", configDir, "context", "create", name, "--docker", "host="+s.URL(name)); err != nil {
		return fmt.Errorf("create docker context %s: %w", name, err)
	}
	return nil
}

// SSHDLog returns what the ssh server of d logged (every connection
// appends to SSHDLog), for a failure message.
func (d *DinD) SSHDLog(ctx context.Context) string {
	out, err := d.ReadFile(ctx, SSHDLog)
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// hostArchive is the server side for one host name: the shared part, its
// host key, its sshd_config and authorized_keys.
func (s *SSH) hostArchive(name, hostKey string, h sshHost) ([]byte, error) {
	key, err := os.ReadFile(hostKey)
	if err != nil {
		return nil, err
	}
	authorized, err := os.ReadFile(s.path("id_ed25519.pub"))
	if err != nil {
		return nil, err
	}
	password := "no"
	if h.passwordOnly {
		password, authorized = "yes", nil
	}
	// StrictModes no: the files are root's, in a directory of ours.
	dir := sshHostDir + "/hosts/" + name
	config := fmt.Sprintf(`HostKey %[1]s/host_key
AuthorizedKeysFile %[1]s/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication %[2]s
KbdInteractiveAuthentication no
`, dir, password)
	return tarOf(append(slices.Clip(s.server),
		tarFile{dir + "/host_key", key, 0o600},
		tarFile{dir + "/sshd_config", []byte(config), 0o644},
		tarFile{dir + "/authorized_keys", authorized, 0o644},
	))
}

var (
	serverOnce  sync.Once
	serverFiles []tarFile
	serverErr   error
)

// sshServer is the server side every host gets: sshd,
// the libraries ldd names for it (resolved in the unpacked package first),
// the dynamic loader, and sshd-inetd, which runs sshd -i on that loader
// for the connection on its stdin/stdout. Made once per process.
func sshServer() ([]tarFile, error) {
	serverOnce.Do(func() { serverFiles, serverErr = readServer() })
	return serverFiles, serverErr
}

func readServer() ([]tarFile, error) {
	root := os.Getenv("USERNS_SSHD_ROOT")
	if root == "" {
		root = defaultSSHDRoot
	}
	sshd := filepath.Join(root, "usr/sbin/sshd")
	if _, err := os.Stat(sshd); err != nil {
		return nil, fmt.Errorf("no ssh server for the test hosts (`make sshd` unpacks one): %w", err)
	}
	cmd := exec.Command("ldd", sshd)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/x86_64-linux-gnu")+":"+filepath.Join(root, "lib/x86_64-linux-gnu"))
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", sshd, err)
	}
	libs, loader, err := parseLdd(out)
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w (`make sshd` unpacks what it needs)", sshd, err)
	}
	var files []tarFile
	for i, f := range append([]string{sshd}, libs...) {
		content, err := os.ReadFile(f) // through symlinks: the libraries' real files
		if err != nil {
			return nil, err
		}
		name := sshHostDir + "/lib/" + filepath.Base(f)
		if i == 0 {
			name = sshHostDir + "/sshd"
		}
		files = append(files, tarFile{name, content, 0o755})
	}
	// /run/sshd is sshd's privilege separation directory; /run is a tmpfs
	// in the systemd flavour, so it is made at each connection.
	inetd := fmt.Sprintf(`#!/bin/sh
# sshd-inetd NAME: one ssh connection on stdin/stdout (sshd -i) for the
# host name NAME, on sshd's own loader and libraries; the login shell and
# what it runs are the host's.
mkdir -p /run/sshd
exec %[1]s/lib/%[2]s --library-path %[1]s/lib %[1]s/sshd -i -f %[1]s/hosts/"$1"/sshd_config -E %[3]s
`, sshHostDir, filepath.Base(loader), SSHDLog)
	return append(files, tarFile{sshHostDir + "/sshd-inetd", []byte(inetd), 0o755}), nil
}

// parseLdd reads ldd's output: the libraries with their paths, and the
// dynamic loader (also among libs). A library ldd did not find is an error.
func parseLdd(out []byte) (libs []string, loader string, err error) {
	var missing []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
			missing = append(missing, f[0])
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) == 2 && strings.HasPrefix(f[0], "/"): // the loader: /lib64/ld-linux-x86-64.so.2 (0x...)
			loader = f[0]
			libs = append(libs, f[0])
		}
	}
	if len(missing) > 0 {
		return nil, "", fmt.Errorf("libraries not found: %s", strings.Join(missing, ", "))
	}
	if loader == "" {
		return nil, "", fmt.Errorf("no dynamic loader in:\n%s", out)
	}
	return libs, loader, nil
}

type tarFile struct {
	name    string
	content []byte
	mode    int64
}

// tarOf is a tar archive of files, owned by root, for CopyToContainer at /.
func tarOf(files []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: strings.TrimPrefix(f.name, "/"), Mode: f.mode, Size: int64(len(f.content)), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sshHostName is what AddHost takes as a host name: it goes into a path
// and a Host line.
var sshHostName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func keygen(ctx context.Context, path string) error {
	cmd := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "docker-userns-test", "-f", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen %s: %w: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

func appendFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
