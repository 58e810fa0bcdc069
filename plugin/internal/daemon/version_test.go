package daemon

import "testing"

func TestMajorVersion(t *testing.T) {
	for v, want := range map[string]int{"20.10.24+dfsg1": 20, "26.1.5": 26, "28.5.2+dfsg4": 28, "29.1.0": 29} {
		if n, ok := MajorVersion(v); !ok || n != want {
			t.Errorf("MajorVersion(%q) = %d %v, want %d", v, n, ok, want)
		}
	}
	for _, v := range []string{"", "dev", "x.1"} {
		if _, ok := MajorVersion(v); ok {
			t.Errorf("MajorVersion(%q) found a number", v)
		}
	}
}
