package carry

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

// inspectingDaemon answers ImageInspect from its images, by ref.
type inspectingDaemon struct {
	client.APIClient
	images map[string]image.InspectResponse
}

func (d inspectingDaemon) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	res, ok := d.images[ref]
	if !ok {
		return client.ImageInspectResult{}, cerrdefs.ErrNotFound
	}
	return client.ImageInspectResult{InspectResponse: res}, nil
}

// inspected is an image as a store reports it: id is the store's own.
func inspected(id, created string, layers ...string) image.InspectResponse {
	return image.InspectResponse{ID: id, Created: created, Os: "linux", Architecture: "amd64",
		RootFS: image.RootFS{Type: "layers", Layers: layers}, Config: &dockerspec.DockerOCIImageConfig{}}
}

func TestIdentityIsWhatBothStoresReport(t *testing.T) {
	graph := inspected("sha256:config", "2024-01-01T00:00:00Z", "sha256:l1")
	containerd := inspected("sha256:manifest", "2024-01-01T00:00:00Z", "sha256:l1")
	if identityOf(graph) != identityOf(containerd) {
		t.Errorf("the same image by config and by manifest digest: identities differ:\n%s\n%s", identityOf(graph), identityOf(containerd))
	}
	rebuilt := inspected("sha256:manifest", "2024-02-01T00:00:00Z", "sha256:l1")
	layered := inspected("sha256:manifest", "2024-01-01T00:00:00Z", "sha256:l1", "sha256:l2")
	labelled := inspected("sha256:manifest", "2024-01-01T00:00:00Z", "sha256:l1")
	labelled.Config = &dockerspec.DockerOCIImageConfig{}
	labelled.Config.Labels = map[string]string{"v": "2"}
	for name, other := range map[string]image.InspectResponse{"rebuilt": rebuilt, "another layer": layered, "a new label": labelled} {
		if identityOf(other) == identityOf(graph) {
			t.Errorf("%s: the same identity as the image before", name)
		}
	}
}

func TestFindPresentSortsTagsIntoPresentMovedAndNew(t *testing.T) {
	old := inspected("sha256:config", "2024-01-01T00:00:00Z", "sha256:l1")
	other := inspected("sha256:other", "2024-01-01T00:00:00Z", "sha256:l9")
	p := &Plan{images: []imageItem{{refs: []string{"busybox", "acc/moved:1", "acc/new:1"}, identity: identityOf(old)}}}
	api := inspectingDaemon{images: map[string]image.InspectResponse{
		"busybox:latest": inspected("sha256:manifest", "2024-01-01T00:00:00Z", "sha256:l1"),
		"acc/moved:1":    other,
	}}
	p.findPresent(t.Context(), api)
	img := p.images[0]
	if !slices.Equal(img.present, []string{"busybox"}) || !slices.Equal(img.moved, []string{"acc/moved:1"}) {
		t.Errorf("present %q, moved %q; want [busybox] and [acc/moved:1]", img.present, img.moved)
	}
	names, all := p.presentNames()
	if all || !slices.Equal(names, []string{"docker.io/library/busybox:latest"}) {
		t.Errorf("presentNames: %q, all %v; want busybox's full name, not all", names, all)
	}
	want := "already there, unchanged: busybox kept as it was (same id); changed while in the other data root: acc/moved:1 now names the image carried, as docker load does"
	if got := img.presentNote(); got != want {
		t.Errorf("note:\n%s\nwant:\n%s", got, want)
	}

	// Every tag there as it was: nothing to load.
	p.images[0].refs = []string{"busybox"}
	p.findPresent(t.Context(), api)
	if _, all := p.presentNames(); !all {
		t.Error("presentNames: not all, with the only tag there unchanged")
	}
}

func TestWithoutNamesLeavesTheSkippedTagsOutOfTheLoad(t *testing.T) {
	index := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:m1","size":1,"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest","org.opencontainers.image.ref.name":"latest"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:m1","size":1,"annotations":{"io.containerd.image.name":"docker.io/acc/new:1","org.opencontainers.image.ref.name":"1"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:m2","size":1,"annotations":{"io.containerd.image.name":"docker.io/fixture/high:1"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:m3","size":1}]}`
	manifest := `[{"Config":"blobs/sha256/c1","RepoTags":["busybox:latest","acc/new:1"],"Layers":["blobs/sha256/l1"]},` +
		`{"Config":"blobs/sha256/c2","RepoTags":["fixture/high:1"],"Layers":[]},{"Config":"blobs/sha256/c3","RepoTags":null,"Layers":[]}]`
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, f := range []struct{ name, body string }{{"blobs/sha256/l1", "layer"}, {"index.json", index}, {"manifest.json", manifest}, {"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := withoutNames(&in, &out, []string{fullName("busybox:latest"), fullName("fixture/high:1")}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[hdr.Name] = string(b)
	}
	if got["blobs/sha256/l1"] != "layer" || got["oci-layout"] != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("the other files changed: %q", got)
	}
	var idx struct {
		SchemaVersion int `json:"schemaVersion"`
		Manifests     []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(got["index.json"]), &idx); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range idx.Manifests {
		names = append(names, m.Digest+" "+m.Annotations["io.containerd.image.name"])
	}
	if want := []string{"sha256:m1 docker.io/acc/new:1", "sha256:m3 "}; idx.SchemaVersion != 2 || !slices.Equal(names, want) {
		t.Errorf("index.json: %s\nwant the descriptors %q", got["index.json"], want)
	}
	var mfst []struct {
		Config   string
		RepoTags []string
	}
	if err := json.Unmarshal([]byte(got["manifest.json"]), &mfst); err != nil {
		t.Fatal(err)
	}
	if len(mfst) != 2 || mfst[0].Config != "blobs/sha256/c1" || !slices.Equal(mfst[0].RepoTags, []string{"acc/new:1"}) || mfst[1].Config != "blobs/sha256/c3" {
		t.Errorf("manifest.json: %s\nwant c1 with acc/new:1 alone, c2 (no tag left) gone, c3 (untagged) kept", got["manifest.json"])
	}
}
