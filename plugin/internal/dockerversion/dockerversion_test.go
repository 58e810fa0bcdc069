package dockerversion

import "testing"

func TestMajor(t *testing.T) {
	for v, want := range map[string]int{"20.10.24+dfsg1": 20, "26.1.5": 26, "28.5.2+dfsg4": 28, "29.1.0": 29} {
		if n, ok := Major(v); !ok || n != want {
			t.Errorf("Major(%q) = %d %v, want %d", v, n, ok, want)
		}
	}
	for _, v := range []string{"", "dev", "x.1"} {
		if _, ok := Major(v); ok {
			t.Errorf("Major(%q) found a number", v)
		}
	}
}
