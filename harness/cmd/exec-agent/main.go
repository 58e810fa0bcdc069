// Command exec-agent runs the harness's commands inside a DinD container
// without a `docker exec` each: the harness starts it once per container
// with one `docker exec -i`, and it reads requests as JSON lines on stdin
// and answers each, in any order, as a JSON line on stdout. A docker exec
// costs a runc exec on this machine (about 0.2 CPU-seconds on the 2-core
// test machine, measured with the shim's and dockerd's CPU time); a
// request costs a fork and exec inside the container.
//
// A command runs as a docker exec would run it: as root with the agent's
// environment (the image's, as docker exec gives it), or as a user looked up
// in the container's /etc/passwd and /etc/group at that moment (uid, gid,
// the groups that list the user, HOME from passwd), which is what runc does
// for `docker exec -u` (libcontainer's setupUser). A command that cannot
// start (not found, not executable) exits 126, as docker exec reports it.
//
// A write request puts a file in place as the archive API does (a new
// file, owned by root, parents created): written beside and renamed.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/docker-userns/docker-userns/harness/internal/execproto"
)

// etcDir holds passwd and group (tests give lookupUser another).
const etcDir = "/etc"

func main() {
	if err := serveAll(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "exec-agent:", err)
		os.Exit(2)
	}
}

// serveAll answers the requests of in on out until in ends, each as soon as
// it is done.
func serveAll(r io.Reader, w io.Writer) error {
	var mu sync.Mutex
	var failed error
	enc := json.NewEncoder(w)
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 64<<10), 256<<20)
	var wg sync.WaitGroup
	for in.Scan() {
		var req execproto.Request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			wg.Wait()
			return fmt.Errorf("bad request: %w", err)
		}
		wg.Go(func() {
			rep := serve(req)
			mu.Lock()
			defer mu.Unlock()
			if err := enc.Encode(rep); err != nil && failed == nil {
				failed = fmt.Errorf("write reply: %w", err)
			}
		})
	}
	wg.Wait()
	if err := in.Err(); err != nil {
		return fmt.Errorf("read requests: %w", err)
	}
	return failed
}

func serve(req execproto.Request) execproto.Reply {
	rep := execproto.Reply{ID: req.ID}
	if req.Path != "" {
		if err := writeFile(req.Path, req.Data, fs.FileMode(req.Mode)); err != nil {
			rep.Err = err.Error()
		}
		return rep
	}
	if len(req.Cmd) == 0 {
		rep.Err = "no command"
		return rep
	}
	cmd := exec.Command(req.Cmd[0], req.Cmd[1:]...)
	if req.User != "" {
		cred, home, err := lookupUser(etcDir, req.User)
		if err != nil {
			// docker exec -u with an unknown user: the runtime cannot start it.
			rep.Exit, rep.Stderr = 126, []byte(err.Error()+"\n")
			return rep
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Env = append(withoutHome(os.Environ()), "HOME="+home)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	rep.Stdout, rep.Stderr = []byte(stdout.String()), []byte(stderr.String())
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		rep.Exit = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			rep.Exit = 128 + int(ws.Signal()) // as the runtime reports it
		}
	default:
		// Not started (not found, not executable): 126, as docker exec
		// reports it on dockerd 20.10, where the runtime's words go.
		rep.Exit = 126
		rep.Stderr = append(rep.Stderr, []byte(err.Error()+"\n")...)
	}
	return rep
}

func withoutHome(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "HOME=") {
			out = append(out, e)
		}
	}
	return out
}

// lookupUser resolves NAME, UID, NAME:GROUP or UID:GID as runc does for
// `docker exec -u`: uid and primary gid from /etc/passwd (a number not
// listed there is taken as is, with gid 0 and home /), the supplementary
// groups that list the user in /etc/group, and passwd's home directory;
// etc is the directory of passwd and group.
func lookupUser(etc, spec string) (*syscall.Credential, string, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	passwd, err := readColonFile(etc + "/passwd")
	if err != nil {
		return nil, "", err
	}
	var name, home = "", "/"
	var uid, gid uint64
	found := false
	for _, f := range passwd {
		if len(f) >= 6 && (f[0] == userPart || f[2] == userPart) {
			name, home = f[0], f[5]
			uid, _ = strconv.ParseUint(f[2], 10, 32)
			gid, _ = strconv.ParseUint(f[3], 10, 32)
			found = true
			break
		}
	}
	if !found {
		n, err := strconv.ParseUint(userPart, 10, 32)
		if err != nil {
			return nil, "", fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
		uid = n
	}
	groups, err := readColonFile(etc + "/group")
	if err != nil {
		return nil, "", err
	}
	if hasGroup {
		g, err := strconv.ParseUint(groupPart, 10, 32)
		if err != nil {
			found := false
			for _, f := range groups {
				if len(f) >= 3 && f[0] == groupPart {
					g, _ = strconv.ParseUint(f[2], 10, 32)
					found = true
					break
				}
			}
			if !found {
				return nil, "", fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
		}
		gid = g
	}
	var extra []uint32
	if name != "" && !hasGroup {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, member := range strings.Split(f[3], ",") {
				if member == name {
					g, _ := strconv.ParseUint(f[2], 10, 32)
					extra = append(extra, uint32(g))
				}
			}
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: extra}, home, nil
}

func readColonFile(path string) ([][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			rows = append(rows, strings.Split(line, ":"))
		}
	}
	return rows, nil
}

// writeFile puts data at path with mode, owned by root, as a new file.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".exec-agent-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode.Perm())
	}
	if err == nil {
		err = os.Chown(tmp.Name(), 0, 0)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
