package daemon

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"errors"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// ErrNotAsked is Inspect's answer without a daemon: under a tree given by
// --root (hostfs.OpenTree) the daemon this client reaches is not the tree's.
var ErrNotAsked = errors.New("the daemon was not asked: --root is a tree, not this machine's root, and the daemon this client reaches is not the tree's")

// InstalledVersion is the Docker version installed under a root, read from
// its files without running anything of it, and where it was read.
type InstalledVersion struct {
	Version string `json:"version"`
	Source  string `json:"source"`
}

// dpkgStatus is Debian's package database; the packages that ship dockerd
// are Debian's docker.io, Docker's docker-ce and Microsoft's moby-engine.
const dpkgStatus = "/var/lib/dpkg/status"

var dockerdPackages = []string{"docker.io", "docker-ce", "moby-engine"}

// Installed reads the version of the dockerd installed under root: the
// package database first, else the -X .../dockerversion.Version= its Go
// build info keeps (Debian's 20.10; -trimpath builds such as Debian's 26.1
// and 28.5 keep no -ldflags). false when neither says.
func Installed(root hostfs.Root) (InstalledVersion, bool) {
	if data, err := root.ReadFile(dpkgStatus); err == nil {
		if pkg, v, ok := dpkgVersion(data); ok {
			return InstalledVersion{Version: v, Source: dpkgStatus + " (" + pkg + ")"}, true
		}
	}
	for _, p := range dockerdPaths {
		if v := binaryVersion(root, p); v != "" {
			return InstalledVersion{Version: v, Source: "the build info of " + p}, true
		}
	}
	return InstalledVersion{}, false
}

// dpkgVersion finds an installed dockerd package in a dpkg status file and
// its upstream version: "5:28.5.2-1~debian.12~bookworm" gives "28.5.2".
func dpkgVersion(data []byte) (pkg, version string, ok bool) {
	for _, para := range bytes.Split(data, []byte("\n\n")) {
		fields := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(para))
		for sc.Scan() {
			if k, v, found := strings.Cut(sc.Text(), ":"); found && !strings.HasPrefix(k, " ") {
				fields[k] = strings.TrimSpace(v)
			}
		}
		name := fields["Package"]
		if !strings.HasSuffix(fields["Status"], " installed") || !slices.Contains(dockerdPackages, name) {
			continue
		}
		v := fields["Version"]
		if _, after, found := strings.Cut(v, ":"); found {
			v = after // the epoch
		}
		if i := strings.LastIndexByte(v, '-'); i > 0 {
			v = v[:i] // the Debian revision
		}
		if v != "" {
			return name, v, true
		}
	}
	return "", "", false
}

// binaryVersion is the version in the build info of the regular file p
// under root, read inside the root and never run; "" when it says none.
func binaryVersion(root hostfs.Root, p string) string {
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	info, err := buildinfo.Read(f)
	if err != nil {
		return ""
	}
	return builtVersion(info)
}
