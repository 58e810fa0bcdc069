// Package scenarios is the conformance suite: the user story of docker
// userns proved end to end on throwaway Docker-in-Docker daemons, each
// scenario on the DinD images (Docker versions and flavours) that
// tiers_test.go places it on.
//
// Each Test function is one scenario with one intent; its steps are
// sentences of behaviour, and its checks read real state (file owners on
// the DinD host, `docker info`, what a container can read), never the
// plugin's own claim. A failed step reports the step, what was expected and
// what was seen, in a form scenarios/cmd/report turns into the conformance
// report (`make conformance`). USERNS_KEEP_FAILED=1 keeps the DinD
// containers of failed scenarios.
//
// Two tiers, chosen by USERNS_CONFORMANCE (TierEnv): "quick" (`make
// conformance`) proves the user story on every version and flavour, each
// claim where its behaviour can differ; "all" (the default, so `go test
// ./...` stays complete; `make conformance-all` and `make test`) runs every
// scenario on every image it applies to.
package scenarios

// Markers of the scenarios' log lines, which scenarios/cmd/report reads
// back from `go test -json`: one definition for the writer and the reader.
const (
	MarkScenario = "scenario: "
	MarkStep     = "step: "
	MarkFailed   = "step failed: "
	MarkExpected = "expected: "
	MarkSeen     = "seen: "
	// MarkCPU follows each step that ended: the CPU-seconds the DinD
	// host's processes have used so far (harness.DinD.CPUTime).
	MarkCPU = "cpu: "
	// MarkProcessCPU starts the test binary's last line: the CPU-seconds
	// it used itself and those of its children (go builds), as two numbers.
	MarkProcessCPU = "conformance process cpu: "
	// MarkPlan starts a line the test binary prints before any test runs,
	// one per scenario: a PlanEntry as JSON.
	MarkPlan = "conformance plan: "
)

// TierEnv names the variable that chooses the tier: TierQuick or TierAll.
const TierEnv = "USERNS_CONFORMANCE"

// The tiers.
const (
	TierQuick = "quick"
	TierAll   = "all"
)

// PlanEntry is one scenario of a run's plan: where it runs in the tier
// chosen, and why there, in the words the report prints.
type PlanEntry struct {
	Tier string `json:"tier"`
	// Test is the scenario's top-level test, e.g. "TestCIFlowAfter".
	Test string `json:"test"`
	// Claim says in a user's words what the scenario proves.
	Claim string `json:"claim"`
	// Hosts is the placement rule in words ("every version and flavour").
	Hosts string `json:"hosts"`
	// Why the scenario runs on those hosts in this tier.
	Why string `json:"why,omitempty"`
	// Images are the subtest names the rule gives on this run's images
	// ("26.1", "26.1-systemd"), after -run; none when the tier leaves the
	// scenario out.
	Images []string `json:"images"`
}
