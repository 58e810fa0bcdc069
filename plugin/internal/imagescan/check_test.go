package imagescan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// TestCheckJudgesEveryImageAndNamesWhatItCannotRead: a file of two
// images gives two rows judged against the mapping; a missing file is
// named in Failed and does not stop the rest.
func TestCheckJudgesEveryImageAndNamesWhatItCannotRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "images.tar")
	if err := os.WriteFile(p, writeSave(t, imagegen.SaveOptions{}), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "none.tar")
	c := Check(context.Background(), &Scanner{}, []string{missing, p}, SourceFile, &Mapping{Remapped: true, UIDs: MinSize, GIDs: MinSize})
	if len(c.Rows) != 2 || c.Rows[0].Ref != p || c.Rows[1].Ref != p {
		t.Fatalf("rows %+v, want the two images of %s", c.Rows, p)
	}
	if len(c.Failed) != 1 || !strings.HasPrefix(c.Failed[0].Error(), "check-image "+missing+": ") {
		t.Errorf("failed %v, want one error naming %s", c.Failed, missing)
	}
	// high:latest has gid 75000: past 65536 ids.
	if c.Misfits() != 1 {
		t.Errorf("%d misfits, want 1 (high:latest): %+v", c.Misfits(), c.Rows)
	}
	// An unknown mapping judges nothing a misfit.
	if c := Check(context.Background(), &Scanner{}, []string{p}, SourceFile, nil); c.Misfits() != 0 || len(c.Rows) != 2 || c.Rows[0].Known {
		t.Errorf("unknown mapping: %d misfits, rows %+v", c.Misfits(), c.Rows)
	}
}
