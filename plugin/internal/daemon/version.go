package daemon

import (
	"strconv"
	"strings"
)

// MajorVersion is the major number of a daemon version as `docker
// version` prints it ("26.1.5+dfsg1", "28.5.2"), for the rules that change
// with Docker's major version (which subuid lines count, zstd, the
// containerd image store); false when it has none ("", "dev").
func MajorVersion(version string) (int, bool) {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	return n, err == nil
}
