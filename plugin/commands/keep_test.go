package commands

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// TestKeepFlagsStayWithTheClient: the client carries through the daemon's
// API before and after the change; a helper container editing the host's
// files never gets --keep-images or --keep-volumes.
func TestKeepFlagsStayWithTheClient(t *testing.T) {
	enable := parsedCommand(t, "enable", "--keep-images", "--keep-volumes", "--via", "daemon")
	got := changeArgv(helperCall(enable, []string{"agent"}), "/run/d.sock", nil)
	for _, arg := range got {
		if strings.HasPrefix(arg, "--keep-") {
			t.Errorf("helper argv %q holds %s", got, arg)
		}
	}
}

func TestKeepOptions(t *testing.T) {
	all := keepOptions{images: []string{allImages}}
	o, err := all.carryOptions(io.Discard)
	if err != nil || !o.Images || o.ImageRefs != nil || o.Volumes || o.Binary == "" {
		t.Errorf("--keep-images alone: %+v %v", o, err)
	}
	some := keepOptions{images: []string{"app:1", "db"}, volumes: true}
	if o, err := some.carryOptions(io.Discard); err != nil || !slices.Equal(o.ImageRefs, []string{"app:1", "db"}) || !o.Volumes {
		t.Errorf("--keep-images=app:1,db --keep-volumes: %+v %v", o, err)
	}
	mixed := keepOptions{images: []string{allImages, "app:1"}}
	if _, err := mixed.carryOptions(io.Discard); err == nil {
		t.Error("--keep-images with * and a name accepted")
	}
	if o, _ := (keepOptions{}).carryOptions(io.Discard); o.Any() {
		t.Errorf("nothing to keep: %+v", o)
	}
	if err := some.checkRestart("none"); err == nil || !strings.Contains(err.Error(), "--restart none") {
		t.Errorf("--restart none: %v", err)
	}
	if err := (keepOptions{}).checkRestart("none"); err != nil {
		t.Errorf("--restart none without keeping: %v", err)
	}
}
