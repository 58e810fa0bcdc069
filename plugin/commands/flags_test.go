package commands

import (
	"strings"
	"testing"
)

// TestBadDurationsAndSizesRefused (issue 12, case 14): a --timeout or
// --confirm-timeout of 0 or below is refused before anything is read or
// written (-5s was taken, 0 silently meant 60s), and check-image refuses
// --size 4294967295 as enable does. The fake daemon answers nothing: a
// command that got as far as asking it would panic.
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
		cli := newFakeCLI(t, &fakeDaemon{})
		err := cli.run(tc.args...)
		if err == nil || ExitCode(err) == 0 {
			t.Errorf("%v: want a refusal, got %v", tc.args, err)
			continue
		}
		if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.Contains(first, tc.want) {
			t.Errorf("%v: first line of the error %q, want one naming %q", tc.args, first, tc.want)
		}
	}
}
