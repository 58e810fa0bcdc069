//go:build !linux

package carry

import (
	"fmt"
	"io"
	"runtime"
)

// Main runs inside a carry container, which is Linux: a plugin built for
// another system never starts one of its own binary.
func Main(_ []string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s: volumes are scanned and copied by the Linux build only, not on %s\n", Command, runtime.GOOS)
	return 1
}
