package hostfs

import (
	"os"
	"strings"
	"testing"
)

// TestJSONRecord: a record written is read back, 0600; a missing one is
// not found and no error; a broken one is an error naming the file.
func TestJSONRecord(t *testing.T) {
	root, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	type rec struct{ Phase string }
	var got rec
	if found, err := root.ReadJSON("/var/lib/x/rec.json", &got); found || err != nil {
		t.Fatalf("missing: found %v, %v", found, err)
	}
	if err := root.WriteJSON("/var/lib/x/rec.json", rec{Phase: "armed"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(root.Path("/var/lib/x/rec.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", st.Mode(), err)
	}
	if found, err := root.ReadJSON("/var/lib/x/rec.json", &got); !found || err != nil || got.Phase != "armed" {
		t.Errorf("read back %+v, found %v, %v", got, found, err)
	}
	if err := os.WriteFile(root.Path("/var/lib/x/bad.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := root.ReadJSON("/var/lib/x/bad.json", &got); err == nil || !strings.HasPrefix(err.Error(), "read /var/lib/x/bad.json: ") {
		t.Errorf("broken record: %v", err)
	}
}
