package sshreach

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moby/moby/client"
)

// fakeSSH puts an `ssh` first on the PATH that records its arguments in
// args and then runs script.
func fakeSSH(t *testing.T, script string) (args string) {
	t.Helper()
	dir := t.TempDir()
	args = filepath.Join(dir, "args")
	sshOnPath(t, dir, "printf '%s\\n' \"$@\" >"+args+"\ncat >/dev/null\n"+script)
	return args
}

// sshOnPath writes dir/ssh, a shell script of body, and puts dir first on
// the PATH.
func sshOnPath(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// sharedClient is an API client to host with ClientOpts' shared connection.
func sharedClient(t *testing.T, host string) *client.Client {
	t.Helper()
	opts, err := ClientOpts(context.Background(), host, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	api, err := client.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestDiagnoseNamesTheCauseInOneLine(t *testing.T) {
	cases := []struct {
		name, script string
		want         []string
	}{
		{"no docker CLI on the host", `echo "sh: 1: docker: not found" >&2; exit 127`,
			[]string{"ssh deploy@h1: no docker CLI there", `"sh: 1: docker: not found"`, "docker system dial-stdio"}},
		{"a docker CLI without dial-stdio", `echo "docker: 'system dial-stdio' is not a docker command." >&2; exit 1`,
			[]string{`has no "docker system dial-stdio"`, "18.09"}},
		{"a password asked for", `echo "ssh_askpass: exec(/usr/bin/ssh-askpass): No such file or directory" >&2; echo "deploy@h1: Permission denied (publickey,password)." >&2; exit 255`,
			[]string{"ssh deploy@h1 asks for a password", "Permission denied (publickey,password)", "key"}},
		{"no key taken", `echo "deploy@h1: Permission denied (publickey)." >&2; exit 255`,
			[]string{"took none of the keys", "authorized_keys"}},
		{"an unknown host key", `echo "Host key verification failed." >&2; exit 255`,
			[]string{"known_hosts", `"ssh deploy@h1"`}},
		{"a host that does not answer", `echo "Connection timed out during banner exchange" >&2; echo "Connection to UNKNOWN port 65535 timed out" >&2; exit 255`,
			[]string{"ssh deploy@h1: no answer", "the host is down"}},
		{"anything else", `echo "ssh: connect to host h1 port 22: Connection refused" >&2; exit 255`,
			[]string{"ssh deploy@h1 failed (exit 255): ssh: connect to host h1 port 22: Connection refused"}},
		{"works the second time", `printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK'`,
			[]string{"did not answer at first (error during connect: write |1: broken pipe)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fakeSSH(t, c.script)
			err := Diagnose(context.Background(), "ssh://deploy@h1", errors.New("error during connect:\n write |1: broken pipe"))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("more than one line: %q", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// TestDiagnoseRunsTheDockerCLIsCommand: the same ssh command as the docker
// CLI's connection helper, plus BatchMode; a path in the URL is the far
// side's socket.
func TestDiagnoseRunsTheDockerCLIsCommand(t *testing.T) {
	for host, want := range map[string]string{
		"ssh://deploy@h1":                         "-l deploy -o ConnectTimeout=30 -o BatchMode=yes -T -- h1 docker system dial-stdio",
		"ssh://h2:2222/run/user/1000/docker.sock": "-p 2222 -o ConnectTimeout=30 -o BatchMode=yes -T -- h2 docker '--host=unix:///run/user/1000/docker.sock' system dial-stdio", // quoted by docker/cli's ssh.Spec
	} {
		args := fakeSSH(t, "exit 255")
		err := Diagnose(context.Background(), host, errors.New("ping failed"))
		got, rerr := os.ReadFile(args)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if s := strings.Join(strings.Fields(string(got)), " "); s != want {
			t.Errorf("%s: ssh %s\nwant ssh %s", host, s, want)
		}
		if err == nil || !strings.Contains(err.Error(), "said nothing") {
			t.Errorf("%s: %v", host, err)
		}
	}
}

func TestOnlySSHIsChecked(t *testing.T) {
	for _, host := range []string{"unix:///var/run/docker.sock", "tcp://docker:2375", ""} {
		if err := Check(context.Background(), nil, host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

// TestClientOptsShareOneConnection: the API client's ssh runs with
// OpenSSH's connection sharing, its control socket in a directory of this
// user's alone and named by the whole configuration ssh -G prints, so that
// two configurations sending one name to two machines never share a
// master; besides the docker CLI's own flags.
func TestClientOptsShareOneConnection(t *testing.T) {
	controlPath := func(config string) string {
		// An ssh that prints config for -G, else records its arguments
		// and ends at once, not reading the request: the ping fails on
		// its EOF.
		dir := t.TempDir()
		args := filepath.Join(dir, "args")
		sshOnPath(t, dir, "if [ \"$1\" = -G ]; then echo '"+config+"'; exit 0; fi\nprintf '%s\\n' \"$@\" >"+args+"\nexit 255")
		api := sharedClient(t, "ssh://deploy@h1")
		if _, err := api.Ping(context.Background(), client.PingOptions{}); err == nil {
			t.Fatal("a ping through an ssh that fails worked")
		}
		got, err := os.ReadFile(args)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"ControlMaster=auto", "ControlPersist=" + muxPersist, "ConnectTimeout=30", "-T", "deploy", "h1", "docker system dial-stdio"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("ssh args lack %q:\n%s", want, got)
			}
		}
		_, path, _ := strings.Cut(string(got), "ControlPath=")
		path, _, _ = strings.Cut(path, "\n")
		return path
	}
	muxDir, refused := MuxDir()
	if muxDir == "" {
		t.Fatal(refused)
	}
	one := controlPath("hostname h1\nproxycommand docker exec -i AAA")
	other := controlPath("hostname h1\nproxycommand docker exec -i BBB")
	if filepath.Dir(one) != muxDir || one == other {
		t.Errorf("control paths %q and %q: want two sockets in %s", one, other, muxDir)
	}
	if same := controlPath("hostname h1\nproxycommand docker exec -i AAA"); same != one {
		t.Errorf("one configuration, two control paths: %q and %q", one, same)
	}
	if info, err := os.Stat(muxDir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("control socket dir %s: %v %v, want mode 0700", muxDir, info.Mode(), err)
	}
}

// TestDialsWaitForTheFirstLogin: calls that start together (a command's
// first ones and the sweep beside it) log in once: the first ssh becomes
// the master, the others wait for its control socket and go through it.
// The fake ssh logs "login" when no socket exists yet (and makes one half
// a second later, as a master does once logged in), else "channel".
func TestDialsWaitForTheFirstLogin(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	sshOnPath(t, dir, `if [ "$1" = -G ]; then echo "hostname gate-$$-`+filepath.Base(dir)+`"; exit 0; fi
for a; do case $a in ControlPath=*) sock=${a#ControlPath=};; esac; done
echo "$sock" >`+filepath.Join(dir, "sock")+`
if [ -e "$sock" ]; then echo channel >>`+calls+`; exit 255; fi
echo login >>`+calls+`
sleep 0.5; : >"$sock"; exit 255`)
	api := sharedClient(t, "ssh://deploy@gate")
	t.Cleanup(func() { // the fake master's socket, in this user's MuxDir
		if sock, err := os.ReadFile(filepath.Join(dir, "sock")); err == nil {
			_ = os.Remove(strings.TrimSpace(string(sock)))
		}
	})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _ = api.Ping(context.Background(), client.PingOptions{}) })
	}
	wg.Wait()
	got, _ := os.ReadFile(calls)
	if strings.Count(string(got), "login") != 1 || strings.Count(string(got), "channel") < 2 {
		t.Errorf("three calls at once: ssh did\n%s\nwant one login, then channels", got)
	}
}

// muxSSH puts an ssh on the PATH that prints a configuration for -G and,
// for a connection, behaves as OpenSSH's master does with its control
// path: it fails ("too long for Unix domain socket") when the path plus
// the 17 characters of its listening socket's suffix does not fit in
// sun_path (mux.c muxserver_listen, misc.c unix_listener). It records the
// control path in the returned file, and ends without reading the request.
func muxSSH(t *testing.T) (controlPath string) {
	dir := t.TempDir()
	controlPath = filepath.Join(dir, "control-path")
	sshOnPath(t, dir, `if [ "$1" = -G ]; then echo "hostname h-`+filepath.Base(dir)+`"; exit 0; fi
for a; do case $a in ControlPath=*) sock=${a#ControlPath=};; esac; done
printf %s "$sock" >`+controlPath+`
if [ $((${#sock} + 17)) -gt 107 ]; then echo "unix_listener: path \"$sock.XXXXXXXXXXXXXXXX\" too long for Unix domain socket" >&2; exit 255; fi
exit 255`)
	return controlPath
}

// pingOnce pings host through ClientOpts' client, whose notes go to w, and
// returns the control path ssh was given ("" for none).
func pingOnce(t *testing.T, host, controlPath string, w io.Writer) string {
	t.Helper()
	opts, err := ClientOpts(context.Background(), host, w)
	if err != nil {
		t.Fatalf("ClientOpts: %v", err)
	}
	if len(opts) == 0 {
		t.Fatal("no shared connection")
	}
	api, err := client.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Ping(context.Background(), client.PingOptions{}); err == nil {
		t.Fatal("a ping through an ssh that fails worked")
	}
	got, err := os.ReadFile(controlPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

// TestControlSocketFitsWithALongTempDir is issue 23 case 5: with a $TMPDIR
// longer than about 37 characters (a Jenkins @tmp workspace) the control
// path plus OpenSSH's suffix passed the 108 bytes of sun_path and every
// ssh failed; it goes where it fits.
func TestControlSocketFitsWithALongTempDir(t *testing.T) {
	long := filepath.Join(t.TempDir(), "workspace-of-a-pipeline-with-a-long-name@tmp")
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	t.Setenv("XDG_RUNTIME_DIR", "")
	path := pingOnce(t, "ssh://deploy@h1", muxSSH(t), io.Discard)
	if len(path)+masterSuffix > sunPathMax {
		t.Errorf("control path %s: %d bytes and OpenSSH's suffix of %d pass sun_path's %d", path, len(path), masterSuffix, sunPathMax)
	}
}

// TestAFolderOfAnotherUserLocksNobodyOut is issue 23 case 6: another user's
// docker-userns-ssh-UID folder in the temp dir made every ssh command fail;
// the sockets go in a private place instead, said once.
func TestAFolderOfAnotherUserLocksNobodyOut(t *testing.T) {
	tmp, err := os.MkdirTemp("/tmp", "sq") // short: t.TempDir's names are too long for a socket
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	squatted := filepath.Join(tmp, "docker-userns-ssh-"+strconv.Itoa(os.Getuid()))
	if err := os.Mkdir(squatted, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(squatted, 54321, 54321); err != nil {
		t.Fatalf("this test chowns a folder to another user: run it as root (%v)", err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("HOME", t.TempDir())
	controlPath := muxSSH(t)
	var w strings.Builder
	for range 2 {
		if path := pingOnce(t, "ssh://deploy@h1", controlPath, &w); strings.HasPrefix(path, squatted) || path == "" {
			t.Errorf("control path %q, want one outside %s", path, squatted)
		}
	}
	if strings.Count(w.String(), "\n") != 1 || !strings.Contains(w.String(), squatted) || !strings.Contains(w.String(), "not a directory of this user's alone") {
		t.Errorf("said %q, want one line naming %s", w.String(), squatted)
	}
	if info, err := os.Stat(squatted); err != nil || info.Sys().(*syscall.Stat_t).Uid != 54321 || info.Mode().Perm() != 0o700 {
		t.Errorf("the other user's folder changed: %v %v", info, err)
	}
}
