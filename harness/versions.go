package harness

import (
	_ "embed"
	"fmt"
	"strings"
)

// imagesConf is the one place naming the DinD images and their recipe;
// scripts/build-dind-images builds from the same file.
//
//go:embed dind/images.conf
var imagesConf string

// Flavour is how a DinD image runs its inner dockerd.
type Flavour string

const (
	// Supervised images run the entry script as PID 1, which starts
	// dockerd again whenever it exits (its log: DaemonLogPath).
	Supervised Flavour = "supervised"
	// Systemd images boot systemd as PID 1, which runs dockerd through the
	// Debian package's own docker.service behind docker.socket (-H fd://),
	// as on a server; the log is the journal.
	Systemd Flavour = "systemd"
)

// Image is one DinD image of dind/images.conf: a Docker version in one
// flavour.
type Image struct {
	Version string  // Docker version, e.g. "26.1"
	Flavour Flavour // Supervised or Systemd
	Suite   string  // Debian suite the image is built from
	Ref     string  // local image name, built by `make dind-images`
	// Release is the Docker release of an image whose docker-ce binaries
	// are built from Go modules (images.conf's sixth column, e.g. "29.8.1"),
	// "" when Debian's packages bring Docker.
	Release string
}

// Name names the image in test names and reports: the version for the
// supervised flavour ("26.1"), version-flavour otherwise ("26.1-systemd").
func (i Image) Name() string {
	if i.Flavour == Supervised {
		return i.Version
	}
	return i.Version + "-" + string(i.Flavour)
}

// Version is one Docker version the harness can start.
type Version struct {
	Name  string // Docker version, e.g. "20.10"; the daemon's version starts with Name + "."
	Suite string // Debian suite the image is built from
	Image string // the supervised flavour's local image name, built by `make dind-images`
	// Systemd is the image of the systemd flavour (docker-userns-dind:NAME-systemd),
	// or "" when the version has none.
	Systemd string
}

// Versions lists the Docker versions of dind/images.conf in file order, for
// tests that run once per version with t.Run(v.Name, ...) on v.Image, the
// supervised flavour; v.Systemd is the same version under systemd.
func Versions() []Version {
	var vs []Version
	for _, img := range Images() {
		i := len(vs) - 1
		if i < 0 || vs[i].Name != img.Version {
			vs = append(vs, Version{Name: img.Version, Suite: img.Suite})
			i++
		}
		switch img.Flavour {
		case Supervised:
			vs[i].Image = img.Ref
		case Systemd:
			vs[i].Systemd = img.Ref
		}
	}
	return vs
}

// Images lists the images of dind/images.conf of the given flavours (all
// when none is given) in file order, for tests that run once per version
// and flavour with t.Run(img.Name(), ...) on img.Ref.
func Images(flavours ...Flavour) []Image {
	all, err := parseImagesConf(imagesConf)
	if err != nil {
		panic(err) // the embedded file is checked by TestVersionsParse
	}
	if len(flavours) == 0 {
		return all
	}
	var imgs []Image
	for _, img := range all {
		for _, f := range flavours {
			if img.Flavour == f {
				imgs = append(imgs, img)
				break
			}
		}
	}
	return imgs
}

// VersionByName returns the version named name (e.g. "26.1").
func VersionByName(name string) (Version, bool) {
	for _, v := range Versions() {
		if v.Name == name {
			return v, true
		}
	}
	return Version{}, false
}

// ImageByName returns the image named name (Image.Name: "26.1",
// "26.1-systemd").
func ImageByName(name string) (Image, bool) {
	for _, img := range Images() {
		if img.Name() == name {
			return img, true
		}
	}
	return Image{}, false
}

func parseImagesConf(conf string) ([]Image, error) {
	var imgs []Image
	seen := map[string]bool{}
	hasSupervised := map[string]bool{}
	for i, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 5 && len(f) != 6 {
			return nil, fmt.Errorf("parse dind/images.conf:%d: want 5 or 6 fields (version flavour suite image packages [release=R,moby=vM,cli=vC[,runc=SUITE]]), got %d", i+1, len(f))
		}
		img := Image{Version: f[0], Flavour: Flavour(f[1]), Suite: f[2], Ref: f[3]}
		if len(f) == 6 {
			release, err := parseBuiltFrom(f[5])
			if err != nil {
				return nil, fmt.Errorf("parse dind/images.conf:%d: %w", i+1, err)
			}
			if !strings.HasPrefix(release, img.Version+".") {
				return nil, fmt.Errorf("parse dind/images.conf:%d: release %s is not a Docker %s", i+1, release, img.Version)
			}
			img.Release = release
		}
		switch img.Flavour {
		case Supervised:
			hasSupervised[img.Version] = true
		case Systemd:
			if want := "docker-userns-dind:" + img.Version + "-systemd"; img.Ref != want {
				return nil, fmt.Errorf("parse dind/images.conf:%d: systemd image of %s is %s, want %s", i+1, img.Version, img.Ref, want)
			}
		default:
			return nil, fmt.Errorf("parse dind/images.conf:%d: unknown flavour %q (want %s or %s)", i+1, f[1], Supervised, Systemd)
		}
		if seen[img.Name()] {
			return nil, fmt.Errorf("parse dind/images.conf:%d: %s listed twice", i+1, img.Name())
		}
		seen[img.Name()] = true
		if n := len(imgs); n > 0 && imgs[n-1].Version != img.Version && seen[img.Version+"\x00"] {
			return nil, fmt.Errorf("parse dind/images.conf:%d: the lines of %s are not together", i+1, img.Version)
		}
		seen[img.Version+"\x00"] = true
		imgs = append(imgs, img)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("parse dind/images.conf: no image listed")
	}
	for _, img := range imgs {
		if !hasSupervised[img.Version] {
			return nil, fmt.Errorf("parse dind/images.conf: %s has no supervised image", img.Version)
		}
	}
	return imgs, nil
}

// parseBuiltFrom reads images.conf's sixth column,
// "release=29.8.1,moby=v2.0.0-beta.24,cli=v29.8.1[,runc=forky]"
// (scripts/build-dind-images builds from it), and returns the release.
func parseBuiltFrom(col string) (string, error) {
	got := map[string]string{}
	for _, kv := range strings.Split(col, ",") {
		k, v, ok := strings.Cut(kv, "=")
		module := k == "moby" || k == "cli"
		if !ok || v == "" || got[k] != "" || !module && k != "release" && k != "runc" || module && !strings.HasPrefix(v, "v") {
			return "", fmt.Errorf("bad %q in %q (want release=R,moby=vM,cli=vC[,runc=SUITE])", kv, col)
		}
		got[k] = v
	}
	if got["release"] == "" || got["moby"] == "" || got["cli"] == "" {
		return "", fmt.Errorf("%q lacks release=, moby= or cli=", col)
	}
	return got["release"], nil
}
