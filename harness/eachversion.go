package harness

import (
	"context"
	"strings"
	"testing"
	"time"
)

// ForEachVersion runs test once per Docker version (Versions) in a subtest
// named v.Name, the versions side by side (t.Parallel, as many at once as
// go test -parallel allows): most of a DinD test is waiting on the engine.
// One version alone is -run 'TestX/28.5'.
func ForEachVersion(t *testing.T, test func(t *testing.T, v Version)) {
	forEach(t, Versions(), func(v Version) string { return v.Name }, test)
}

// ForEachImage is ForEachVersion for each image of a flavour (Images), the
// subtests named img.Name() ("26.1-systemd").
func ForEachImage(t *testing.T, flavour Flavour, test func(t *testing.T, img Image)) {
	forEach(t, Images(flavour), Image.Name, test)
}

// forEach is the one loop of ForEachVersion and ForEachImage; none to run
// fails the test rather than pass it with nothing done.
func forEach[T any](t *testing.T, items []T, name func(T) string, test func(t *testing.T, item T)) {
	t.Helper()
	if len(items) == 0 {
		t.Fatal("dind/images.conf lists nothing to run this test on")
	}
	for _, item := range items {
		t.Run(name(item), func(t *testing.T) {
			t.Parallel()
			test(t, item)
		})
	}
}

// ExecTimeout bounds one command MustExec runs: a hung command fails its
// test instead of the whole run at go test's -timeout.
const ExecTimeout = 10 * time.Minute

// MustExec runs cmd as root in the host and returns its standard output,
// trimmed; an error, an exit status other than 0 or no end within
// ExecTimeout (or the test's) fails the test.
func (d *DinD) MustExec(t testing.TB, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), ExecTimeout)
	defer cancel()
	out, err := d.ExecOK(ctx, cmd...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}
