package harness

import "testing"

func TestVersionsParse(t *testing.T) {
	vs := Versions()
	want := map[string]string{"20.10": "bookworm", "26.1": "trixie"}
	if len(vs) != len(want) {
		t.Fatalf("Versions() = %+v, want %d versions", vs, len(want))
	}
	for _, v := range vs {
		if want[v.Name] != v.Suite || v.Image == "" {
			t.Errorf("version %+v: want suite %q and an image", v, want[v.Name])
		}
		if got, ok := VersionByName(v.Name); !ok || got != v {
			t.Errorf("VersionByName(%q) = %+v, %v", v.Name, got, ok)
		}
	}
}

func TestParseImagesConfRejects(t *testing.T) {
	for _, conf := range []string{"", "# only a comment\n", "20.10 bookworm img\n", "20.10 bookworm img pkgs extra\n"} {
		if vs, err := parseImagesConf(conf); err == nil {
			t.Errorf("parseImagesConf(%q) = %+v, want an error", conf, vs)
		}
	}
}
