package helper

import (
	"bytes"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// TestRelay: a helper's progress lines pass on; a failed run's last line is
// its error, which Failure words and the caller reports, so it is not
// relayed twice.
func TestRelay(t *testing.T) {
	for _, c := range []struct {
		res  probe.Result
		want string
	}{
		{probe.Result{Stderr: "restarting\n\nverifying\n"}, "restarting\nverifying\n"},
		{probe.Result{Stderr: "restarting\nread /etc/subuid: denied\n", ExitCode: 1}, "restarting\n"},
		{probe.Result{ExitCode: 1}, ""},
	} {
		var buf bytes.Buffer
		Relay(&buf, c.res)
		if buf.String() != c.want {
			t.Errorf("%+v: relayed %q, want %q", c.res, buf.String(), c.want)
		}
	}
	if got := Failure(probe.Result{Stderr: "restarting\nread /etc/subuid: denied\n", ExitCode: 1}).Error(); got != "on the daemon's host: read /etc/subuid: denied" {
		t.Errorf("failure %q", got)
	}
}
