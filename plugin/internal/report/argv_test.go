package report

import (
	"slices"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/helper"
)

// TestReportArgv: a helper container that reports works on the host root
// it mounts and prints in the format asked for, with the report's own
// flags and none of the client's.
func TestReportArgv(t *testing.T) {
	got := reportArgv(helper.Call{Command: "doctor", Flags: helperFlag("skip-images", onOrEmpty(true))}, "json")
	want := []string{"doctor", "--skip-images=true", "--format=json", "--root=/host", "--via=local", "--"}
	if !slices.Equal(got, want) {
		t.Errorf("report argv:\n got %q\nwant %q", got, want)
	}
	if got := helperFlag("tmpdir", ""); got != nil {
		t.Errorf("an empty flag is forwarded: %q", got)
	}
}
