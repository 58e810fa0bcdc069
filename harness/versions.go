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

// Version is one Docker version the harness can start.
type Version struct {
	Name  string // Docker version, e.g. "20.10"; the daemon's version starts with Name + "."
	Suite string // Debian suite the image is built from
	Image string // local image name, built by `make dind-images`
}

// Versions lists the Docker versions of dind/images.conf in file order, for
// tests that run once per version with t.Run(v.Name, ...).
func Versions() []Version {
	vs, err := parseImagesConf(imagesConf)
	if err != nil {
		panic(err) // the embedded file is checked by TestVersionsParse
	}
	return vs
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

func parseImagesConf(conf string) ([]Version, error) {
	var vs []Version
	for i, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("parse dind/images.conf:%d: want 4 fields (version suite image packages), got %d", i+1, len(f))
		}
		vs = append(vs, Version{Name: f[0], Suite: f[1], Image: f[2]})
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("parse dind/images.conf: no image listed")
	}
	return vs, nil
}
