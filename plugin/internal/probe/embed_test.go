package probe

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A build without the small probe program fails, loudly, at the go:embed
// line, whose comment says to run `make build`: it does not ship a plugin
// without it. The build is the real go command's, with the programs in
// embedded/ hidden from it (an -overlay that deletes them).
func TestBuildWithoutSmallProgramFails(t *testing.T) {
	progs, err := filepath.Glob(filepath.Join("embedded", SmallProgram+"-linux-*"))
	if err != nil || len(progs) == 0 {
		t.Fatalf("no small probe program in embedded/ to hide (%v): this package builds only after `make build`", err)
	}
	hidden := map[string]string{}
	for _, p := range progs {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		hidden[abs] = ""
	}
	overlay, err := json.Marshal(map[string]any{"Replace": hidden})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "build", "-overlay", overlayFile, "-o", os.DevNull, ".").CombinedOutput()
	if err == nil {
		t.Fatalf("go build without a small probe program succeeded: it must fail\n%s", out)
	}
	if !strings.Contains(string(out), "small.go") || !strings.Contains(string(out), "no matching files found") {
		t.Fatalf("go build failed, but not at small.go's go:embed for want of the program:\n%s", out)
	}
	src, err := os.ReadFile("small.go")
	if err != nil {
		t.Fatal(err)
	}
	embedAt := strings.Index(string(src), "//go:embed embedded/")
	if embedAt < 0 || !strings.Contains(string(src[max(0, embedAt-800):embedAt]), "`make build`") {
		t.Fatal("the comment above small.go's go:embed line does not say to run `make build`")
	}
}
