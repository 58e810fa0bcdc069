package carry

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
)

// imageIdentity is what both image stores say of an image's config
// through the API, standing for its digest, which the containerd store
// does not report: its inspect gives the target's digest as ID and
// Descriptor and reads the rest from the config (daemon/containerd/
// image_inspect.go, ImageInspect, docker-v29.7.1); a graphdriver's gives
// the config's digest as ID and the same fields from the same config
// (daemon/images/image_inspect.go, ImageInspect). A rebuild, a commit or
// a new label or layer changes one of them.
type imageIdentity struct {
	Layers       []string                         `json:"layers"`
	Created      string                           `json:"created"`
	Author       string                           `json:"author"`
	Os           string                           `json:"os"`
	Architecture string                           `json:"architecture"`
	Variant      string                           `json:"variant"`
	Config       *dockerspec.DockerOCIImageConfig `json:"config"`
}

// identityOf is the identity of an inspected image, comparable as a string.
func identityOf(res image.InspectResponse) string {
	b, err := json.Marshal(imageIdentity{
		Layers: res.RootFS.Layers, Created: res.Created, Author: res.Author,
		Os: res.Os, Architecture: res.Architecture, Variant: res.Variant, Config: res.Config,
	})
	if err != nil { // the fields are plain data
		panic(err)
	}
	return string(b)
}

// findPresent marks the refs the new daemon already has as the same image
// (a round trip back into the containerd store, which kept the images out
// of view): loading them again would re-point each to the manifest the
// other store's save wrote, another id, and leave the earlier one
// dangling. A ref that names something else there was changed while the
// old root was in use; it is loaded, and moves, as docker load does.
func (p *Plan) findPresent(ctx context.Context, api API) {
	for i := range p.images {
		img := &p.images[i]
		img.present, img.moved = nil, nil
		if img.identity == "" {
			continue
		}
		for _, ref := range img.refs {
			res, err := api.ImageInspect(ctx, normalTag(ref))
			switch {
			case err != nil: // not there (or not to be asked): load it
			case identityOf(res.InspectResponse) == img.identity:
				img.present = append(img.present, ref)
			default:
				img.moved = append(img.moved, ref)
			}
		}
	}
}

// presentNames are the full names (docker.io/library/busybox:latest) of
// the refs the new daemon has already, and whether every ref is one.
func (p *Plan) presentNames() (names []string, all bool) {
	all = true
	for _, img := range p.images {
		for _, ref := range img.refs {
			if slices.Contains(img.present, ref) {
				names = append(names, fullName(ref))
			} else {
				all = false
			}
		}
	}
	return names, all
}

// fullName is ref as an OCI layout names it: fully qualified, with a tag.
func fullName(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

// withoutNames copies the docker save archive r to w without the names
// of skip, so that a load leaves those tags where they are: from
// index.json, which the containerd store's load reads in an OCI layout
// (containerd core/images/archive/importer.go, ImportIndex, v2.3.3, as
// vendored by docker-v29.7.1), the descriptors named so; from
// manifest.json, which a graphdriver's load reads, the tags (and an entry
// left without any).
func withoutNames(r io.Reader, w io.Writer, skip []string) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		var rewrite func([]byte, []string) ([]byte, error)
		switch hdr.Name {
		case "index.json":
			rewrite = indexWithout
		case "manifest.json":
			rewrite = manifestWithout
		}
		if rewrite == nil {
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := io.Copy(tw, tr); err != nil {
				return err
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if b, err = rewrite(b, skip); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		hdr.Size = int64(len(b))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
}

// indexWithout is an index.json without the descriptors named one of skip
// (by containerd's io.containerd.image.name annotation), all else kept.
func indexWithout(b []byte, skip []string) ([]byte, error) {
	var index map[string]json.RawMessage
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, err
	}
	var descs []json.RawMessage
	if err := json.Unmarshal(index["manifests"], &descs); err != nil {
		return nil, err
	}
	descs = slices.DeleteFunc(descs, func(d json.RawMessage) bool {
		var named struct {
			Annotations map[string]string `json:"annotations"`
		}
		name, ok := "", json.Unmarshal(d, &named) == nil
		if ok {
			name, ok = named.Annotations["io.containerd.image.name"]
		}
		return ok && slices.Contains(skip, fullName(name))
	})
	list, err := json.Marshal(descs)
	if err != nil {
		return nil, err
	}
	index["manifests"] = list
	return json.Marshal(index)
}

// manifestWithout is a manifest.json without the RepoTags of skip, and
// without the entries that had tags and are left with none.
func manifestWithout(b []byte, skip []string) ([]byte, error) {
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, err
	}
	out := entries[:0]
	for _, e := range entries {
		var tags []string
		if raw, ok := e["RepoTags"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &tags); err != nil {
				return nil, err
			}
		}
		kept := slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return slices.Contains(skip, fullName(t)) })
		if len(tags) > 0 && len(kept) == 0 {
			continue
		}
		if len(kept) < len(tags) {
			raw, err := json.Marshal(kept)
			if err != nil {
				return nil, err
			}
			e["RepoTags"] = raw
		}
		out = append(out, e)
	}
	return json.Marshal(out)
}

// inspectIdentities asks the old daemon each image's identity, for
// findPresent on the new one.
func (p *Plan) inspectIdentities(ctx context.Context, api API) error {
	for i := range p.images {
		res, err := api.ImageInspect(ctx, p.images[i].id)
		if err != nil {
			return fmt.Errorf("inspect image %s: %w", p.images[i].Name, err)
		}
		p.images[i].identity = identityOf(res.InspectResponse)
	}
	return nil
}
