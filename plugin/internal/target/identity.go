// Package target resolves the daemons a command acts on and where their
// host's files are: the current Docker context or each --context (a
// fleet), each ssh:// one reached over one shared ssh connection
// (sshreach), and whether its daemon runs on this machine (DaemonIsLocal),
// so that its files are edited here or through a helper container.
//
// Locality is told by identity (issue 12 case 7): a unix socket on this
// machine may be served by a forwarder (ssh -L, socat) to another machine's
// daemon, or by nothing at all; two Docker contexts may lead to one daemon.
// The daemon's identity as its API gives it (ID, name, data root) is
// compared with what this machine's files and hostname say, before any
// write.
package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Identity is who a daemon says it is (GET /info).
type Identity struct {
	ID       string `json:"ID"`
	Name     string `json:"Name"`
	DataRoot string `json:"DockerRootDir"`
}

func (id Identity) String() string {
	return fmt.Sprintf("daemon %s (name %s, data root %s)", id.ID, id.Name, id.DataRoot)
}

// IdentityOf asks a daemon through its API client.
func IdentityOf(ctx context.Context, api client.APIClient) (Identity, error) {
	res, err := api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Identity{}, fmt.Errorf("ask the daemon who it is: %w", err)
	}
	return Identity{ID: res.Info.ID, Name: res.Info.Name, DataRoot: res.Info.DockerRootDir}, nil
}

// AtSocket asks the daemon listening on a unix socket, with no client
// library: GET /info, bounded by timeout.
func AtSocket(ctx context.Context, socket string, timeout time.Duration) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/info", nil)
	if err != nil {
		return Identity{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("ask the daemon at %s who it is: %w", socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Identity{}, fmt.Errorf("ask the daemon at %s who it is: %s", socket, resp.Status)
	}
	var id Identity
	if err := json.NewDecoder(resp.Body).Decode(&id); err != nil {
		return Identity{}, fmt.Errorf("ask the daemon at %s who it is: %w", socket, err)
	}
	return id, nil
}

// ErrElsewhere means the daemon does not run on the host whose files were
// to be edited.
var ErrElsewhere = errors.New("the daemon does not run on this host")

// remappedBase matches the <uid>.<gid> a remapped data root ends in.
var remappedBase = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// CheckSameHost compares a daemon's identity with the host at root whose hostname
// is hostname: the daemon's data root must be a directory there, its
// engine-id file (Docker 23 and newer keep it in the data root; a remapped
// one's parent) must hold the daemon's ID, and its name must be the
// hostname. It returns nil when nothing says the daemon runs elsewhere.
func CheckSameHost(root hostfs.Root, id Identity, hostname string) error {
	var why []string
	if id.DataRoot != "" {
		if st, err := root.Stat(id.DataRoot); err != nil || !st.IsDir() {
			why = append(why, "its data root "+id.DataRoot+" is not a directory here")
		} else if local, ok := engineID(root, id.DataRoot); ok && id.ID != "" && local != id.ID {
			why = append(why, fmt.Sprintf("its ID is %s, the engine-id file in its data root here says %s", id.ID, local))
		}
	}
	if hostname != "" && id.Name != "" && id.Name != hostname {
		why = append(why, fmt.Sprintf("it is named %s, this host %s", id.Name, hostname))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %s", ErrElsewhere, id, strings.Join(why, "; "))
}

// engineID reads the engine-id file that belongs to a data root.
func engineID(root hostfs.Root, dataRoot string) (string, bool) {
	dirs := []string{dataRoot}
	if remappedBase.MatchString(path.Base(dataRoot)) {
		dirs = append(dirs, path.Dir(dataRoot))
	}
	for _, d := range dirs {
		data, err := root.ReadFile(path.Join(d, "engine-id"))
		if err == nil && strings.TrimSpace(string(data)) != "" {
			return strings.TrimSpace(string(data)), true
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
	}
	return "", false
}

// CheckRootFlag refuses an empty --root, which used to mean / and force
// the local files.
func CheckRootFlag(root string) error {
	if root == "" {
		return errors.New(`--root "": give a directory (/ is this machine)`)
	}
	return nil
}

// Named is one Docker context's daemon.
type Named struct {
	Name string
	API  client.APIClient
}

// OneEach refuses a fleet in which two contexts lead to one daemon (the
// same daemon ID): a host would be changed twice at once. A daemon that
// does not answer is left to the command to report.
func OneEach(ctx context.Context, daemons []Named) error {
	seen := map[string]string{}
	for _, d := range daemons {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		id, err := IdentityOf(actx, d.API)
		cancel()
		if err != nil || id.ID == "" {
			continue
		}
		if first, dup := seen[id.ID]; dup {
			return fmt.Errorf("contexts %s and %s lead to the same daemon (ID %s, name %s): one host, give it once", first, d.Name, id.ID, id.Name)
		}
		seen[id.ID] = d.Name
	}
	return nil
}
