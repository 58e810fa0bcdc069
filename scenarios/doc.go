// Package scenarios is the conformance suite: the user story of docker
// userns proved end to end on throwaway Docker-in-Docker daemons, once per
// Docker version of harness.Versions.
//
// Each Test function is one scenario with one intent; its steps are
// sentences of behaviour, and its checks read real state (file owners on
// the DinD host, `docker info`, what a container can read), never the
// plugin's own claim. A failed step reports the step, what was expected and
// what was seen, in a form scenarios/cmd/report turns into the conformance
// report (`make conformance`). USERNS_KEEP_FAILED=1 keeps the DinD
// containers of failed scenarios.
package scenarios

// Markers of the scenarios' log lines, which scenarios/cmd/report reads
// back from `go test -json`: one definition for the writer and the reader.
const (
	MarkScenario = "scenario: "
	MarkStep     = "step: "
	MarkFailed   = "step failed: "
	MarkExpected = "expected: "
	MarkSeen     = "seen: "
)
