package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/livecheck"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
)

// StatusRow is a host's status in a fleet's table.
func StatusRow(st remap.Status) fleet.Outcome {
	if st.Daemon == nil {
		return fleet.Outcome{Result: "unreachable", Message: st.DaemonError}
	}
	remapping := "remapping off"
	if st.Daemon.Remapped {
		remapping = "remapping on"
	}
	out := fleet.Outcome{Result: remapping, Message: fmt.Sprintf("Docker %s, data root %s", st.Daemon.Version, st.Daemon.DataRoot)}
	if st.Setting != "" {
		out.Message += fmt.Sprintf(", userns-remap %q", st.Setting)
	}
	if len(st.Warnings) > 0 {
		out.Message += fmt.Sprintf(", %d warning(s)", len(st.Warnings))
	}
	return out
}

// DoctorRow is a host's findings in a fleet's table: a FAIL is a failed
// host.
func DoctorRow(findings remap.Findings) (fleet.Outcome, error) {
	out := fleet.Outcome{Result: "PASS", Message: fmt.Sprintf("%d PASS, %d WARN, %d FAIL", findings.Count(remap.Pass), findings.Count(remap.Warn), findings.Count(remap.Fail))}
	if n := findings.Count(remap.Fail); n > 0 {
		return fleet.Outcome{Result: "FAIL", Message: out.Message}, fmt.Errorf("%d check(s) FAILed", n)
	}
	if findings.Count(remap.Warn) > 0 {
		out.Result = "WARN"
	}
	return out, nil
}

// TestRow is a host's test in a fleet's table: a FAIL is a failed host;
// an incomplete one is not, but the fleet still exits non-zero (the
// command's exit of each host).
func TestRow(r livecheck.Report) (fleet.Outcome, error) {
	out := fleet.Outcome{Result: string(r.Verdict()), Message: r.Summary()}
	if r.Verdict() == livecheck.Fail {
		return out, errors.New(out.Message)
	}
	return out, nil
}

// ImagesRow is one host's line of check-image's fleet: whether every
// image fits there, and the verdict of each that does not.
func ImagesRow(res imagescan.Checked) (fleet.Outcome, error) {
	var bad []string
	for _, row := range res.Rows {
		if !row.Known || !row.Fits {
			bad = append(bad, row.Name+" "+row.Message)
		}
	}
	for _, err := range res.Failed {
		bad = append(bad, err.Error())
	}
	out := fleet.Outcome{Result: "fits", Message: fmt.Sprintf("%d image(s) fit", len(res.Rows))}
	if len(bad) > 0 {
		out.Message = strings.Join(bad, "; ")
	}
	switch {
	case res.Misfits() > 0:
		out.Result = "does not fit"
		return out, fmt.Errorf("%d of %d images do not fit", res.Misfits(), len(res.Rows))
	case len(res.Failed) > 0:
		out.Result = "unreadable"
		return out, fmt.Errorf("%d of %d images could not be read", len(res.Failed), len(res.Failed)+len(res.Rows))
	case len(bad) > 0:
		out.Result = "unknown"
	}
	return out, nil
}
