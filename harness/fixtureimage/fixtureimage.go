// Package fixtureimage builds small images whose one layer holds files with
// chosen owners and modes, such as a file owned by 70000:70000 that a
// remapped daemon cannot extract. No base image and no registry are needed.
package fixtureimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one regular file (or directory) of the layer.
type File struct {
	Path string // absolute path in the image, e.g. /etc/x
	UID  int
	GID  int
	// Mode holds the permission bits; zero means 0644, or 0755 for a directory.
	Mode fs.FileMode
	Dir  bool
	// Content of a regular file; nil means one line naming the file.
	Content []byte
}

// ParseFile reads a file spec "PATH:UID:GID" or "PATH:UID:GID:MODE" (MODE in
// octal); a PATH ending in "/" is a directory.
func ParseFile(spec string) (File, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 && len(parts) != 4 {
		return File{}, fmt.Errorf("parse file spec %q: want PATH:UID:GID[:MODE]", spec)
	}
	f := File{Path: parts[0]}
	if !path.IsAbs(f.Path) {
		return File{}, fmt.Errorf("parse file spec %q: path must be absolute", spec)
	}
	if strings.HasSuffix(f.Path, "/") && f.Path != "/" {
		f.Dir = true
	}
	var err error
	if f.UID, err = parseID(parts[1]); err != nil {
		return File{}, fmt.Errorf("parse file spec %q: uid: %w", spec, err)
	}
	if f.GID, err = parseID(parts[2]); err != nil {
		return File{}, fmt.Errorf("parse file spec %q: gid: %w", spec, err)
	}
	if len(parts) == 4 {
		m, err := strconv.ParseUint(parts[3], 8, 32)
		if err != nil || m > 0o7777 {
			return File{}, fmt.Errorf("parse file spec %q: mode %q is not octal permission bits", spec, parts[3])
		}
		f.Mode = fs.FileMode(m)
	}
	return f, nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number below 2^32", s)
	}
	return int(n), nil
}

// String gives the file back as a spec ParseFile reads.
func (f File) String() string {
	p := f.Path
	if f.Dir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return fmt.Sprintf("%s:%d:%d:%o", p, f.UID, f.GID, f.perm())
}

func (f File) perm() fs.FileMode {
	switch {
	case f.Mode != 0:
		return f.Mode & 0o7777
	case f.Dir:
		return 0o755
	default:
		return 0o644
	}
}

// Tar returns the layer's tar stream: the files, and any parent directory
// not listed as 0:0 0755, in an order that creates parents first.
func Tar(files ...File) ([]byte, error) {
	entries := map[string]File{}
	for _, f := range files {
		name := strings.Trim(path.Clean(f.Path), "/")
		if name == "" || name == "." {
			return nil, fmt.Errorf("write layer: %q names the root, not a file", f.Path)
		}
		if _, dup := entries[name]; dup {
			return nil, fmt.Errorf("write layer: %s listed twice", f.Path)
		}
		entries[name] = f
	}
	for name := range entries {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = File{Path: "/" + dir, Dir: true}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names) // a parent sorts before its children

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A fixed time keeps the layer digest the same from run to run.
	mtime := time.Unix(0, 0)
	for _, name := range names {
		f := entries[name]
		hdr := &tar.Header{
			Name:    name,
			Uid:     f.UID,
			Gid:     f.GID,
			Mode:    int64(f.perm()),
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		var content []byte
		if f.Dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			content = f.Content
			if content == nil {
				content = []byte("fixture file /" + name + "\n")
			}
			hdr.Size = int64(len(content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", name, err)
		}
		if _, err := tw.Write(content); err != nil {
			return nil, fmt.Errorf("write layer entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return buf.Bytes(), nil
}

// Layer returns a gzip layer holding the files (see Tar).
func Layer(files ...File) (v1.Layer, error) {
	b, err := Tar(files...)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// Image returns a one-layer image for linux on this machine's architecture
// holding the files. It has no shell: it is meant to be pulled, created or
// inspected, not run.
func Image(files ...File) (v1.Image, error) {
	layer, err := Layer(files...)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = runtime.GOARCH
	cfg.Created = v1.Time{Time: time.Unix(0, 0)}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	return img, nil
}
