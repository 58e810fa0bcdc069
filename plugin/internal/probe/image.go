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

	cerrdefs "github.com/containerd/errdefs"
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
	// ID is the image's ID as its import said it ("" if it did not): what
	// names the image until it is really gone, since a removal drops the
	// tag first (Lasting).
	ID  string
	api client.APIClient
}

// Lasting names the image for as long as the daemon has it: its ID, else
// its tag. moby's ImageDelete (daemon/images/image_delete.go at v28.5.2)
// removes the tag before imageDeleteHelper deletes the image, and between
// the two the image store's Delete first asks containerd to drop the
// image's lease (daemon/images/store.go, imageStoreWithLease.Delete): a
// daemon restarted meanwhile fails that ("error deleting lease: ... the
// client connection is closing") and keeps the image untagged, <none>:<none>.
// The host agent waits for this name to be gone before it restarts.
func (img Image) Lasting() string {
	if img.ID != "" {
		return img.ID
	}
	return img.Ref
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
	id, err := readJSONStream(res)
	if err != nil {
		return Image{}, fmt.Errorf("build probe image %s: %w", ref, err)
	}
	return Image{Ref: ref, ID: id, api: api}, nil
}

// Remove deletes the probe image; it is safe to call on a zero Image. A
// removal cut short after the untag (Lasting) left the image without its
// tag: tried again, it is removed by its ID, without force, so that an
// image a container uses stays (checkImageDeleteConflict). Its ID covers
// its labels, which name this process and the second it was made.
func (img Image) Remove(ctx context.Context) error {
	if img.Ref == "" {
		return nil
	}
	_, err := img.api.ImageRemove(ctx, img.Ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if cerrdefs.IsNotFound(err) && img.ID != "" {
		_, err = img.api.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{PruneChildren: true})
	}
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
// error it reports (import and load report failures inside the stream),
// and the image ID an import reports.
func readJSONStream(r io.Reader) (imageID string, err error) {
	msg, imageID, err := firstStreamError(r)
	if err != nil {
		return imageID, err
	}
	if msg != "" {
		return imageID, errors.New(msg)
	}
	return imageID, nil
}

// demux splits a container's multiplexed log stream into stdout and stderr.
func demux(r io.Reader) (stdout, stderr string, err error) {
	var out, errOut strings.Builder
	_, err = stdcopy.StdCopy(&out, &errOut, r)
	return out.String(), errOut.String(), err
}
