package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainWriteWithMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	var out, errOut strings.Builder
	if code := Main([]string{"write", path, "0600"}, &out, &errOut); code != 0 {
		t.Fatalf("write with mode: exit %d: %s", code, errOut.String())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", st.Mode().Perm())
	}
	if code := Main([]string{"write", path, "rw"}, &out, &errOut); code != 1 {
		t.Errorf("write with mode rw: exit %d, want 1", code)
	}
}
