package harness

import (
	"slices"
	"testing"
)

func TestVersionsParse(t *testing.T) {
	vs := Versions()
	want := map[string]string{"20.10": "bookworm", "26.1": "trixie", "28.5": "forky", "29": "forky"}
	if len(vs) != len(want) {
		t.Fatalf("Versions() = %+v, want %d versions", vs, len(want))
	}
	for _, v := range vs {
		if want[v.Name] != v.Suite || v.Image != "docker-userns-dind:"+v.Name {
			t.Errorf("version %+v: want suite %q and image docker-userns-dind:%s", v, want[v.Name], v.Name)
		}
		if v.Systemd != "" && v.Systemd != "docker-userns-dind:"+v.Name+"-systemd" {
			t.Errorf("version %+v: systemd image is not docker-userns-dind:%s-systemd", v, v.Name)
		}
		if got, ok := VersionByName(v.Name); !ok || got != v {
			t.Errorf("VersionByName(%q) = %+v, %v", v.Name, got, ok)
		}
	}
}

func TestImagesListsEachVersionAndFlavour(t *testing.T) {
	all := Images()
	var names []string
	for _, img := range all {
		names = append(names, img.Name())
		if got, ok := ImageByName(img.Name()); !ok || got != img {
			t.Errorf("ImageByName(%q) = %+v, %v", img.Name(), got, ok)
		}
		// No Debian suite has Docker 29: its images say which release
		// their Go build is.
		if (img.Version == "29") != (img.Release != "") {
			t.Errorf("image %+v: want a release exactly for Docker 29", img)
		}
		v, _ := VersionByName(img.Version)
		ref := map[Flavour]string{Supervised: v.Image, Systemd: v.Systemd}[img.Flavour]
		if ref != img.Ref {
			t.Errorf("image %+v: its version says %q", img, ref)
		}
	}
	for _, name := range []string{"20.10", "20.10-systemd", "26.1", "26.1-systemd", "28.5", "29", "29-systemd"} {
		if !slices.Contains(names, name) {
			t.Errorf("Images() names %v, want %s among them", names, name)
		}
	}
	if n := len(Images(Supervised)) + len(Images(Systemd)); n != len(all) {
		t.Errorf("Images(Supervised) and Images(Systemd) hold %d images, Images() %d", n, len(all))
	}
	for _, img := range Images(Systemd) {
		if img.Flavour != Systemd {
			t.Errorf("Images(Systemd) holds %+v", img)
		}
	}
}

func TestParseImagesConfRejects(t *testing.T) {
	for _, conf := range []string{
		"",
		"# only a comment\n",
		"20.10 bookworm img pkgs\n", // the old four columns
		"20.10 supervised bookworm img pkgs extra\n",                              // a sixth that is no release=,moby=,cli=
		"20.10 supervised bookworm img pkgs release=20.10.24,moby=v2,cli=v20 x\n", // seven
		"29 supervised forky img pkgs release=29.8.1,moby=v2.0.0-beta.24\n",
		"29 supervised forky img pkgs release=29.8.1,moby=2.0.0,cli=v29.8.1\n",
		"29 supervised forky img pkgs release=29.8.1,moby=v2,cli=v29.8.1,moby=v3\n",
		"29 supervised forky img pkgs release=28.5.2,moby=v2,cli=v29.8.1\n", // not a 29
		"29 supervised forky img pkgs release=29.8.1,moby=v2,cli=v29.8.1,runc=forky,tini=forky\n",
		"29 supervised forky img pkgs release=29.8.1,moby=v2,cli=v29.8.1,runc=\n",
		"20.10 sysv bookworm img pkgs\n",
		"20.10 systemd bookworm docker-userns-dind:20.10-sd pkgs\n",
		"20.10 supervised bookworm a pkgs\n20.10 supervised bookworm b pkgs\n",
		"20.10 systemd bookworm docker-userns-dind:20.10-systemd pkgs\n", // no supervised image
		"1 supervised s a p\n2 supervised s b p\n1 systemd s docker-userns-dind:1-systemd p\n",
	} {
		if imgs, err := parseImagesConf(conf); err == nil {
			t.Errorf("parseImagesConf(%q) = %+v, want an error", conf, imgs)
		}
	}
}
