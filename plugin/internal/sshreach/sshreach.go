// Package sshreach says in one line why a daemon of an ssh:// Docker
// endpoint cannot be reached. The docker CLI reaches it by running
// `ssh [-l user] [-p port] -o ConnectTimeout=30 -T -- host docker system
// dial-stdio` and speaking the API over that command's stdin and stdout
// (docker/cli cli/connhelper/connhelper.go, getConnectionHelper). When ssh
// fails, the API client's error is a wrapped "error during connect: ...
// command [ssh ...] has exited with exit status 255, make sure the URL is
// valid, and Docker 18.09 or later is installed on the remote host:
// stderr=..." (commandconn.handleEOF), or only "write |1: broken pipe" when
// ssh ended before the request was written; the two causes people meet
// first, no docker CLI on the far side and a login that wants a password,
// are lost in it.
package sshreach

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/docker/cli/cli/connhelper/ssh"
	"github.com/moby/moby/client"
)

// dialStdio is the far side's command, as the docker CLI gives it.
var dialStdio = []string{"docker", "system", "dial-stdio"}

// diagnoseTimeout bounds the second ssh run that finds the cause.
const diagnoseTimeout = 45 * time.Second

// IsSSH tells whether a Docker endpoint's host is reached over ssh.
func IsSSH(host string) bool {
	return strings.HasPrefix(host, "ssh://")
}

// Check pings the daemon of host (a Docker endpoint's host) through api,
// which reaches it; a host that is not ssh:// is not checked. When the
// ping fails, Check runs the docker CLI's ssh command once more, in
// BatchMode (never a prompt), and returns why it ended, in one line. A
// ping that worked leaves its connection to the API client, so the check
// costs no ssh session of its own.
func Check(ctx context.Context, api client.APIClient, host string) error {
	if !IsSSH(host) {
		return nil
	}
	_, err := api.Ping(ctx, client.PingOptions{})
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Ctrl-C: no second ssh run to explain it.
		return fmt.Errorf("reach %s: %w", host, ctx.Err())
	}
	// A host that does not answer took ssh's ConnectTimeout (30 s) of
	// ctx's time already: the second run has its own bound.
	return Diagnose(context.WithoutCancel(ctx), host, err)
}

// Diagnose runs host's ssh command with an API ping on its stdin and
// explains how it ended; pingErr is what the API client said, kept when
// ssh works this time.
func Diagnose(ctx context.Context, host string, pingErr error) error {
	u, err := url.Parse(host)
	if err != nil {
		return fmt.Errorf("ssh endpoint %q: %w", host, err)
	}
	sp, err := ssh.NewSpec(u)
	if err != nil {
		return fmt.Errorf("ssh endpoint %q: %w", host, err)
	}
	remote := dialStdio
	if strings.Trim(sp.Path, "/") != "" { // as getConnectionHelper does
		remote = []string{"docker", "--host=unix://" + sp.Path, "system", "dial-stdio"}
	}
	// ConnectTimeout and -T as the docker CLI's; BatchMode so that this
	// second try never prompts.
	args, err := sp.Command([]string{"-o", "ConnectTimeout=30", "-o", "BatchMode=yes", "-T"}, remote...)
	if err != nil {
		return fmt.Errorf("ssh endpoint %q: %w", host, err)
	}
	ctx, cancel := context.WithTimeout(ctx, diagnoseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Stdin = strings.NewReader("GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	dest := destination(sp)
	var exit *exec.ExitError
	switch {
	case errors.As(runErr, &exit):
		return Explain(dest, exit.ExitCode(), stderr.String())
	case runErr != nil:
		return fmt.Errorf("ssh %s: %w", dest, runErr)
	case bytes.HasPrefix(stdout.Bytes(), []byte("HTTP/1.1 200")):
		// ssh works now: the first failure was passing; say it plainly.
		return fmt.Errorf("ssh %s: the daemon did not answer at first (%s)", dest, oneLine(pingErr.Error()))
	default:
		return Explain(dest, 0, stderr.String()+stdout.String())
	}
}

var (
	// notFound is a shell's "no such command" for docker: dash's "sh: 1:
	// docker: not found", bash's "bash: line 1: docker: command not found".
	notFound = regexp.MustCompile(`docker: (command )?not found|docker: No such file or directory`)
	// noDialStdio is a docker CLI older than 18.09 (no dial-stdio).
	noDialStdio = regexp.MustCompile(`(?i)unknown command "?dial-stdio|is not a docker command`)
)

// Explain turns how the ssh command for dest ([user@]host[:port]) ended
// (its exit code and stderr) into one line naming the cause.
func Explain(dest string, code int, stderr string) error {
	last := lastLine(stderr)
	switch {
	case code == 127 || notFound.MatchString(stderr):
		return fmt.Errorf(`ssh %s: no docker CLI there (%q): the docker CLI's ssh connection runs "docker system dial-stdio" on the host; install the docker CLI there, on the PATH of a non-interactive ssh session`, dest, last)
	case noDialStdio.MatchString(stderr):
		return fmt.Errorf(`ssh %s: the docker CLI there has no "docker system dial-stdio" (%q): ssh contexts need Docker 18.09 or later on the host`, dest, last)
	case strings.Contains(stderr, "Permission denied (") && (strings.Contains(stderr, "password") || strings.Contains(stderr, "keyboard-interactive")):
		return fmt.Errorf(`ssh %s asks for a password (%q): the docker CLI's ssh cannot answer a prompt; log in with a key (ssh-agent, or IdentityFile in ~/.ssh/config)`, dest, last)
	case strings.Contains(stderr, "Permission denied ("):
		return fmt.Errorf(`ssh %s took none of the keys offered (%q): add the key to the user's authorized_keys there, or offer the right one (ssh-agent, IdentityFile in ~/.ssh/config)`, dest, last)
	case strings.Contains(stderr, "timed out"):
		// OpenSSH's ConnectTimeout covers the connect and, through a
		// ProxyCommand too, the banner exchange (sshconnect.c).
		return fmt.Errorf(`ssh %s: no answer (%q): the host is down, or unreachable from here`, dest, last)
	case strings.Contains(stderr, "Host key verification failed"):
		return fmt.Errorf(`ssh %s: its host key is not in known_hosts, or changed (%q): check it, and accept it once with "ssh %s"`, dest, last, dest)
	case last != "":
		return fmt.Errorf("ssh %s failed (exit %d): %s", dest, code, last)
	default:
		return fmt.Errorf("ssh %s failed (exit %d) and said nothing", dest, code)
	}
}

// destination is the spec as people write it to ssh: [user@]host[:port].
func destination(sp *ssh.Spec) string {
	d := sp.Host
	if sp.User != "" {
		d = sp.User + "@" + d
	}
	if sp.Port != "" {
		d += ":" + sp.Port
	}
	return d
}

// lastLine is the last line of s that says something.
func lastLine(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
