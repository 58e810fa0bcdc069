package hostchange

import (
	"bytes"
	"fmt"

	udiff "github.com/aymanbagabas/go-udiff"
)

// UnifiedDiff renders the change of one file as `diff -u` does (go-udiff's
// Myers diff: a one-line change in a long file is a small hunk); "" when
// nothing changes. A missing side is /dev/null.
func UnifiedDiff(path string, old, new []byte, oldExists, newExists bool) string {
	if oldExists == newExists && bytes.Equal(old, new) {
		return ""
	}
	from, to := path, path
	if !oldExists {
		from = "/dev/null"
	}
	if !newExists {
		to = "/dev/null"
	}
	if d := udiff.Unified(from, to, string(old), string(new)); d != "" {
		return d
	}
	// Same (empty) content, but the file appears or goes.
	return fmt.Sprintf("--- %s\n+++ %s\n", from, to)
}
