package carry

import (
	"context"
	"errors"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
)

// newRootDaemon is the daemon after the switch: it holds the volume
// "there" already, makes the others, and cannot import the carry image
// (an injected failure, a full disk); it records the volumes removed.
type newRootDaemon struct {
	client.APIClient
	removed *[]string
}

func newRootVolume(name string) volume.Volume {
	return volume.Volume{Name: name, Driver: "local", Mountpoint: path.Join("/var/lib/docker/100000.100000/volumes", name, volumeData)}
}

func (d newRootDaemon) VolumeInspect(_ context.Context, name string, _ client.VolumeInspectOptions) (client.VolumeInspectResult, error) {
	if name != "there" {
		return client.VolumeInspectResult{}, errors.New("no such volume")
	}
	return client.VolumeInspectResult{Volume: newRootVolume(name)}, nil
}

func (d newRootDaemon) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	return client.ContainerListResult{}, nil
}

func (d newRootDaemon) VolumeCreate(_ context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	return client.VolumeCreateResult{Volume: newRootVolume(o.Name)}, nil
}

func (d newRootDaemon) ImageImport(context.Context, client.ImageImportSource, string, client.ImageImportOptions) (client.ImageImportResult, error) {
	return nil, errors.New("write /var/lib/docker/tmp: no space left on device")
}

// ServerVersion says the daemon runs on this test's own platform, so the
// carry image is made of this binary (probe.DaemonPlatform).
func (d newRootDaemon) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: runtime.GOOS, Arch: runtime.GOARCH}, nil
}

func (d newRootDaemon) VolumeRemove(_ context.Context, name string, _ client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	*d.removed = append(*d.removed, name)
	return client.VolumeRemoveResult{}, nil
}

// TestAFailedCopyLeavesNoVolumeItMade is issue 23 case 9 at the daemon: a
// copy that fails removes the volume made for it (absent before, absent
// after), leaves the one the new root held, and the report says which.
func TestAFailedCopyLeavesNoVolumeItMade(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	p := &Plan{opts: Options{Binary: self}, volumes: []volumeItem{
		{Item: Item{Kind: Volume, Name: "made"}, mountpoint: "/var/lib/docker/volumes/made/_data"},
		{Item: Item{Kind: Volume, Name: "there"}, mountpoint: "/var/lib/docker/volumes/there/_data"},
	}}
	p.copyVolumes(context.Background(), newRootDaemon{removed: &removed}, ownerMap, ownerMap)
	if !slices.Equal(removed, []string{"made"}) {
		t.Errorf("volumes removed: %q, want the one made for the copy", removed)
	}
	for i, want := range []string{"volume made for it in the new data root is removed", "the new data root's volume of that name is as it was"} {
		v := p.volumes[i]
		if v.Result != NotCarried || !strings.Contains(v.Note, "no space left on device") || !strings.Contains(v.Note, want) {
			t.Errorf("volume %s: %s %q, want %s saying %q", v.Name, v.Result, v.Note, NotCarried, want)
		}
	}
}
