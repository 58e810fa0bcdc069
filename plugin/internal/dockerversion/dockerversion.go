// Package dockerversion reads a daemon version as `docker version` prints it
// ("26.1.5+dfsg1", "28.5.2"), for the rules that change with Docker's major
// version (which subuid lines count, zstd, the containerd image store).
package dockerversion

import (
	"strconv"
	"strings"
)

// Major is the major number of version; false when it has none ("", "dev").
func Major(version string) (int, bool) {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	return n, err == nil
}
