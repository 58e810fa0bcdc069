package scenarios

import (
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// The rules place images by version and flavour, so Docker 29's two images
// join the quick tier without a name written anywhere.
func TestQuickTierPlacesNewImagesByRule(t *testing.T) {
	var all []harness.Image
	for _, name := range []string{"20.10", "20.10-systemd", "26.1", "26.1-systemd", "28.5", "29", "29-systemd"} {
		version, flavour, _ := strings.Cut(name, "-")
		img := harness.Image{Version: version, Flavour: harness.Supervised}
		if flavour != "" {
			img.Flavour = harness.Flavour(flavour)
		}
		all = append(all, img)
	}
	names := func(imgs []harness.Image) string {
		var out []string
		for _, img := range imgs {
			out = append(out, img.Name())
		}
		return strings.Join(out, " ")
	}
	want := map[string]string{
		"TestCIFlowAfter":          "20.10 20.10-systemd 26.1 26.1-systemd 28.5 29 29-systemd",
		"TestRollback":             "20.10 20.10-systemd 26.1 26.1-systemd 28.5 29 29-systemd",
		"TestCIFlowBefore":         "20.10 26.1 28.5 29",
		"TestCIFlowBuild":          "20.10 26.1 28.5 29",
		"TestMountEscape":          "20.10 26.1 28.5 29",
		"TestHighUIDPull":          "20.10 26.1 28.5 29",
		"TestRegularUser":          "26.1 28.5",
		"TestContainerdImageStore": "29",
		"TestDefaultImageStore":    "29",
	}
	runs := 0
	for test, p := range placements {
		got := names(p.quick.pick(all))
		runs += len(p.quick.pick(all))
		if got != want[test] {
			t.Errorf("%s in the quick tier: %q, want %q", test, got, want[test])
		}
		if got != "" && p.why == "" {
			t.Errorf("%s runs in the quick tier without a why", test)
		}
		if len(p.all.pick(all)) == 0 {
			t.Errorf("%s runs nowhere in the full tier", test)
		}
	}
	if runs != 34 {
		t.Errorf("quick tier: %d runs, want 34", runs)
	}
	if got := names(imageStoreHosts.pick(all)); got != "26.1 28.5 29" {
		t.Errorf("image store hosts in the full tier: %q", got)
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v, min string
		want   bool
	}{
		{"20.10", "28", false}, {"26.1", "24", true}, {"28.5", "28", true}, {"29", "28", true},
		{"29", "29", true}, {"28.5", "29", false}, {"20.10", "20.9", true},
	} {
		if got := versionAtLeast(tc.v, tc.min); got != tc.want {
			t.Errorf("versionAtLeast(%q, %q) = %v", tc.v, tc.min, got)
		}
	}
}
