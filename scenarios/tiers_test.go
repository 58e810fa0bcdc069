package scenarios

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/harness"
)

// hostRule picks, by version and flavour, the DinD images of
// harness.Images() a scenario runs on, so new images (a new Docker version,
// a new flavour) join by the rule, never by name.
type hostRule struct {
	words string // how the report names the rule
	pick  func(all []harness.Image) []harness.Image
}

// where keeps the images that match.
func where(words string, match func(harness.Image) bool) hostRule {
	return hostRule{words: words, pick: func(all []harness.Image) []harness.Image {
		var imgs []harness.Image
		for _, img := range all {
			if match(img) {
				imgs = append(imgs, img)
			}
		}
		return imgs
	}}
}

var (
	everyImage   = where("every version and flavour", func(harness.Image) bool { return true })
	everyVersion = where("every version, supervised", func(img harness.Image) bool { return img.Flavour == harness.Supervised })
	systemdHosts = where("every systemd host", func(img harness.Image) bool { return img.Flavour == harness.Systemd })
	// The containerd image store is there from Docker 24; from 29 it is the
	// default of new installs (DESIGN.md, Docker 29).
	imageStoreHosts = where("every version with the containerd image store (24 and newer), supervised", func(img harness.Image) bool {
		return img.Flavour == harness.Supervised && versionAtLeast(img.Version, "24")
	})
	imageStoreDefault = where("every version whose new installs use the containerd image store (29 and newer), supervised", func(img harness.Image) bool {
		return img.Flavour == harness.Supervised && versionAtLeast(img.Version, "29")
	})
	nowhere = hostRule{words: "not in this tier", pick: func([]harness.Image) []harness.Image { return nil }}
)

// rangeRulesSides is the newest version before 28.0 and the oldest from
// 28.0, supervised: dockerd reads /etc/subuid differently on each side
// (before 28 only the lines keyed by uid when there are any; from 28 both
// kinds in file order; DESIGN.md, "How dockerd reads a user's ranges").
var rangeRulesSides = hostRule{
	words: "the newest version before 28.0 and the oldest from 28.0, supervised",
	pick: func(all []harness.Image) []harness.Image {
		var before, from *harness.Image
		for _, img := range all {
			if img.Flavour != harness.Supervised {
				continue
			}
			if !versionAtLeast(img.Version, "28") {
				if before == nil || versionAtLeast(img.Version, before.Version) {
					before = &img
				}
			} else if from == nil || !versionAtLeast(img.Version, from.Version) {
				from = &img
			}
		}
		var imgs []harness.Image
		for _, img := range []*harness.Image{before, from} {
			if img != nil {
				imgs = append(imgs, *img)
			}
		}
		return imgs
	},
}

// placement is where a scenario runs in each tier, and why there in the
// quick one.
type placement struct {
	claim string   // what it proves, in a user's words
	all   hostRule // make conformance-all, make test, go test ./...
	quick hostRule // make conformance
	why   string
}

// placements is the one place that says which scenario runs on which
// hosts. The quick tier is the user story on every version and flavour,
// each claim where its behaviour can differ; the full tier is every
// scenario on every host it applies to. A scenario missing here fails.
var placements = map[string]placement{
	"TestCIFlowBefore": {
		claim: "without remapping, a root build container leaves files in agent's clone that git clean cannot remove",
		all:   everyVersion, quick: everyVersion,
		why: "the problem on every Docker version; the flavour plays no part before enable",
	},
	"TestCIFlowAfter": {
		claim: "after docker userns enable agent, build output in the clone is agent's and git clean works, two rounds",
		all:   everyImage, quick: everyImage,
		why: "the main claim, and enable restarts the daemon the way each flavour does (entry script or systemd)",
	},
	"TestCIFlowBuild": {
		claim: "docker build (BuildKit where the host has it) runs its RUN steps remapped and its output is agent's",
		all:   everyVersion, quick: everyVersion,
		why: "the builder differs by version: legacy on 20.10, buildx 0.13 on 26.1, 0.29 from 28.5",
	},
	"TestMountEscape": {
		claim: "docker run -v /:/mnt can no longer read root-only host files; --userns=host bypasses that and status/doctor say so",
		all:   everyVersion, quick: everyVersion,
		why: "the daemon maps the container, so each version; the flavour only restarts it",
	},
	"TestHighUIDPull": {
		claim: "an image with a file owned by uid 70000 pulls once enable --size gives the range check-image suggests",
		all:   everyVersion, quick: everyVersion,
		why: "the daemon's refusal is worded differently by version (capitalised up to 24, new wording in 29.7)",
	},
	"TestRollback": {
		claim: "an enable whose daemon cannot start is rolled back: old config, daemon running, image and volume kept",
		all:   everyImage, quick: everyImage,
		why: "bringing the old daemon back is a restart, different under systemd (start limits) and per version",
	},
	"TestRegularUser": {
		claim: "for a regular user with useradd's range, container root is the user and disable --remove-ranges restores the files",
		all:   everyImage, quick: rangeRulesSides,
		why: "dockerd reads /etc/subuid differently before and from 28.0",
	},
	"TestContainerdImageStore": {
		claim: "a daemon.json that turns the containerd image store on explicitly is refused before anything is written, and doctor warns",
		all:   imageStoreHosts, quick: imageStoreDefault,
		why: "Docker 29 makes the store the default of new installs and refuses it together with remapping",
	},
	"TestDefaultImageStore": {
		claim: "on a fresh host enable remaps from the default image store (Docker 29: the containerd store turns into a graphdriver, said before), BuildKit RUN works, and disable brings the store and its images back",
		all:   everyVersion, quick: imageStoreDefault,
		why: "Docker 29 makes the containerd store the default of new installs and turns it off under remapping",
	},
	"TestCollision":                    {claim: "the contiguous layout's collision with a host user is found and avoided", all: everyVersion, quick: nowhere},
	"TestConflict":                     {claim: "enable refuses when --userns-remap is already a dockerd flag", all: everyVersion, quick: nowhere},
	"TestDisable":                      {claim: "disable brings back the unremapped daemon and its images", all: everyImage, quick: nowhere},
	"TestKeepImagesAndVolumes":         {claim: "--keep-images and --keep-volumes carry images and volumes both ways", all: everyVersion, quick: nowhere},
	"TestOthersEditTheFiles":           {claim: "edits made by others to the files survive disable --remove-ranges", all: everyVersion, quick: nowhere},
	"TestClientDiesMidRestart":         {claim: "a client killed mid-restart leaves a host that reverts by itself", all: everyVersion, quick: nowhere},
	"TestInterruptedClientReverts":     {claim: "Ctrl-C during the restart reverts and says so", all: everyVersion, quick: nowhere},
	"TestHostSetUpByAnotherTool":       {claim: "a host remapped by another tool is left as it is", all: everyImage, quick: nowhere},
	"TestExistingCollisionRefused":     {claim: "enable refuses a range that collides with a host user", all: everyImage, quick: nowhere},
	"TestSocketActivatedEnableDisable": {claim: "enable and disable work behind docker.socket", all: systemdHosts, quick: nowhere},
	"TestSystemdStartLimit":            {claim: "a failed enable after quick restarts leaves docker.service active", all: systemdHosts, quick: nowhere},
	"TestSeedDropIn":                   {claim: "enable refuses when a docker.service drop-in sets --userns-remap", all: systemdHosts, quick: nowhere},
}

// tier is the tier this run uses, from TierEnv (TierAll when unset).
func tier() (string, error) {
	switch v := os.Getenv(TierEnv); v {
	case "", TierAll:
		return TierAll, nil
	case TierQuick:
		return TierQuick, nil
	default:
		return "", fmt.Errorf("read %s: %q is neither %s nor %s", TierEnv, v, TierQuick, TierAll)
	}
}

// hostsFor returns the images scenario test runs on in tier, and its rule.
func hostsFor(tier, test string) ([]harness.Image, hostRule, error) {
	p, ok := placements[test]
	if !ok {
		return nil, hostRule{}, fmt.Errorf("scenario %s has no placement in scenarios/tiers_test.go", test)
	}
	rule := p.all
	if tier == TierQuick {
		rule = p.quick
	}
	return rule.pick(harness.Images()), rule, nil
}

// versionAtLeast compares Docker versions ("20.10", "28.5", "29") part by
// part as numbers; a missing part counts as 0.
func versionAtLeast(v, min string) bool {
	pv, pm := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < max(len(pv), len(pm)); i++ {
		x, y := part(pv, i), part(pm, i)
		if x != y {
			return x > y
		}
	}
	return true
}

func part(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}
