// Package probe builds throwaway images from the small probe program the
// plugin embeds, or from the plugin's own static binary (no registry, no
// pull), and runs them as containers to observe what the daemon really
// does: the id map, file owners on bind mounts, reads.
package probe

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// BinaryPath is where the plugin's binary sits inside a probe image.
const BinaryPath = "/docker-userns"

// File is an extra file put into a probe image's only layer.
type File struct {
	Path     string
	UID, GID int
	Mode     int64
	Content  []byte
}

// Image is a probe image in the daemon; Remove deletes it.
type Image struct {
	Ref string
	api client.APIClient
}

// SelfBinary is the running plugin's own binary, the usual probe binary.
func SelfBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own binary: %w", err)
	}
	return self, nil
}

// Build imports an image holding the plugin binary for the daemon's
// platform (HelperFor binary, the plugin's own) and extra files into the
// daemon: what helper containers run. The binary must be static: the image
// has nothing else. A probe wants BuildSmall.
func Build(ctx context.Context, api client.APIClient, binary string, extra ...File) (Image, error) {
	p, err := DaemonPlatform(ctx, api)
	if err != nil {
		return Image{}, fmt.Errorf("build helper image: %w", err)
	}
	return buildFor(ctx, api, p, binary, extra)
}

// buildFor imports an image of the plugin binary for platform p.
func buildFor(ctx context.Context, api client.APIClient, p Platform, self string, extra []File) (Image, error) {
	binary, err := HelperFor(self, p)
	if err != nil {
		return Image{}, err
	}
	prog, closer, err := openProgram(binary)
	if err != nil {
		return Image{}, fmt.Errorf("build probe image: %w", err)
	}
	defer closer.Close()
	return build(ctx, api, prog, extra)
}

// build imports an image of prog at BinaryPath and the extra files.
func build(ctx context.Context, api client.APIClient, prog program, extra []File) (Image, error) {
	ref := "docker-userns-probe:" + randomTag()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeLayer(pw, prog, extra)) }()
	entrypoint, _ := json.Marshal(append([]string{BinaryPath}, prog.args...))
	res, err := api.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{"ENTRYPOINT " + string(entrypoint), sweep.LabelChanges("probe")}})
	if err != nil {
		pr.CloseWithError(err)
		return Image{}, fmt.Errorf("build probe image %s: %w", ref, err)
	}
	defer res.Close()
	if err := readJSONStream(res); err != nil {
		return Image{}, fmt.Errorf("build probe image %s: %w", ref, err)
	}
	return Image{Ref: ref, api: api}, nil
}

// Remove deletes the probe image; it is safe to call on a zero Image.
func (img Image) Remove(ctx context.Context) error {
	if img.Ref == "" {
		return nil
	}
	_, err := img.api.ImageRemove(ctx, img.Ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil {
		return fmt.Errorf("remove probe image %s: %w", img.Ref, err)
	}
	return nil
}

func randomTag() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeLayer writes a tar with the program at BinaryPath and the extra files.
func writeLayer(w io.Writer, prog program, extra []File) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: BinaryPath[1:], Mode: 0o755, Size: prog.size, ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, prog.content); err != nil {
		return err
	}
	// Containers get /tmp as a mount target for the file checks.
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Mode: 0o1777, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	for _, f := range extra {
		hdr := &tar.Header{Name: f.Path, Mode: f.Mode, Uid: f.UID, Gid: f.GID, Size: int64(len(f.Content)), ModTime: now, Typeflag: tar.TypeReg}
		if len(hdr.Name) > 0 && hdr.Name[0] == '/' {
			hdr.Name = hdr.Name[1:]
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return err
		}
	}
	return tw.Close()
}

// readJSONStream drains a daemon progress stream and returns the first
// error it reports (import and load report failures inside the stream).
func readJSONStream(r io.Reader) error {
	msg, err := firstStreamError(r)
	if err != nil {
		return err
	}
	if msg != "" {
		return errors.New(msg)
	}
	return nil
}

// demux splits a container's multiplexed log stream into stdout and stderr.
func demux(r io.Reader) (stdout, stderr string, err error) {
	var out, errOut strings.Builder
	_, err = stdcopy.StdCopy(&out, &errOut, r)
	return out.String(), errOut.String(), err
}
