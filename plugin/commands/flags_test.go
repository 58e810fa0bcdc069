package commands

import (
	"strings"
	"testing"
)

// TestBadDurationsAndSizesRefused (issue 12, case 14): a --timeout or
// --confirm-timeout of 0 or below is refused before anything is read or
// written (-5s was taken, 0 silently meant 60s), and check-image refuses
// --size 4294967295 as enable does.
func TestBadDurationsAndSizesRefused(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"enable", "--root", root, "--dry-run", "--timeout", "-5s", "agent"}, "--timeout -5s"},
		{[]string{"enable", "--root", root, "--dry-run", "--confirm-timeout", "0s", "agent"}, "--confirm-timeout 0s"},
		{[]string{"disable", "--root", root, "--dry-run", "--timeout", "0s"}, "--timeout 0s"},
		{[]string{"check-image", "--source", "file", "--size", "4294967295", "nope.tar"}, "4294967295"},
	} {
		run := runPlugin(t, false, tc.args...)
		first, _, _ := strings.Cut(run.stderr, "\n")
		if run.code == 0 || !strings.Contains(first, tc.want) {
			t.Errorf("%v: exit %d, first stderr line %q, want one naming %q", tc.args, run.code, first, tc.want)
		}
	}
}
