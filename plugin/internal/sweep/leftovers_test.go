package sweep

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

// leftDaemon holds the plugin's objects; it records what is removed.
type leftDaemon struct {
	client.APIClient
	containers []container.Summary
	images     []image.Summary
	removed    *[]string
}

func (d leftDaemon) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	if !o.Filters["label"][LabelCreated] {
		panic("containers listed without the plugin's label filter")
	}
	return client.ContainerListResult{Items: d.containers}, nil
}

func (d leftDaemon) ImageList(_ context.Context, o client.ImageListOptions) (client.ImageListResult, error) {
	if !o.Filters["label"][LabelCreated] {
		panic("images listed without the plugin's label filter")
	}
	return client.ImageListResult{Items: d.images}, nil
}

func (d leftDaemon) ContainerRemove(_ context.Context, id string, _ client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	*d.removed = append(*d.removed, "container "+id)
	return client.ContainerRemoveResult{}, nil
}

func (d leftDaemon) ImageRemove(_ context.Context, id string, _ client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	*d.removed = append(*d.removed, "image "+id)
	return client.ImageRemoveResult{}, nil
}

func madeAgo(role string, ago time.Duration) map[string]string {
	return map[string]string{LabelRole: role, LabelCreated: strconv.FormatInt(time.Now().Add(-ago).Unix(), 10)}
}

// TestSweepRemovesOnlyWhatIsOlderThanARun is issue 12 case 12: what a
// killed client left goes (containers first), what a run uses now stays.
func TestSweepRemovesOnlyWhatIsOlderThanARun(t *testing.T) {
	var removed []string
	d := leftDaemon{
		containers: []container.Summary{
			{ID: "c-old", State: container.StateExited, Names: []string{"/docker-userns-helper-aaa"}, Labels: madeAgo("helper", 2*time.Hour)},
			{ID: "c-new", State: container.StateExited, Names: []string{"/docker-userns-helper-bbb"}, Labels: madeAgo("helper", time.Minute)},
		},
		images: []image.Summary{
			{ID: "i-old", RepoTags: []string{"docker-userns-probe:aaa"}, Labels: madeAgo("probe", 2*time.Hour)},
			{ID: "i-new", RepoTags: []string{"docker-userns-probe:bbb"}, Labels: madeAgo("probe", time.Minute)},
		},
		removed: &removed,
	}
	var w strings.Builder
	Beside(context.Background(), d)(&w)
	if strings.Join(removed, ", ") != "container c-old, image i-old" {
		t.Errorf("removed %v, want the old container, then the old image", removed)
	}
	for _, want := range []string{"docker-userns-helper-aaa", "docker-userns-probe:aaa", "client that died"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("the sweep does not say %q:\n%s", want, w.String())
		}
	}
}

// TestEverythingThePluginMakesIsLabelled: images by import changes,
// containers by their config (probe's TestContainerRoles).
func TestEverythingThePluginMakesIsLabelled(t *testing.T) {
	if c := LabelChanges("probe"); !strings.HasPrefix(c, "LABEL ") || !strings.Contains(c, LabelRole+"=probe") || !strings.Contains(c, LabelCreated+"=") {
		t.Errorf("image label changes: %q", c)
	}
}

// TestSweepLeavesWhatALiveClientRuns is issue 23 case 8: a container of
// ours that runs for a client still alive (a volume carry of hours) stays,
// however old; one whose client is gone goes once stopped or older than a
// run (a helper whose client died finishes arming first); one whose client
// cannot be asked (another machine, no label) goes once stopped and older
// than a run, and its image with it, while the image of a container left
// running stays.
func TestSweepLeavesWhatALiveClientRuns(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Start(); err != nil {
		t.Fatal(err)
	}
	goneOwner := processOwner(gone.Process.Pid) // read while it runs
	if err := gone.Wait(); err != nil || goneOwner == "" {
		t.Fatalf("owner of a process that ended: %q %v", goneOwner, err)
	}
	owned := func(labels map[string]string, owner string) map[string]string {
		if owner != "" {
			labels[LabelOwner] = owner
		}
		return labels
	}
	elsewhere := "0c0ffee0-0000-4000-8000-000000000000/4026531836/1/1"
	var removed []string
	d := leftDaemon{
		containers: []container.Summary{
			{ID: "c-live-carry", State: container.StateRunning, ImageID: "i-live", Labels: owned(madeAgo("helper", 3*time.Hour), ownerOf())},
			{ID: "c-live-exited", State: container.StateExited, ImageID: "i-live", Labels: owned(madeAgo("probe", 3*time.Hour), ownerOf())},
			{ID: "c-gone-arming", State: container.StateRunning, ImageID: "i-arming", Labels: owned(madeAgo("helper", time.Minute), goneOwner)},
			{ID: "c-gone-running", State: container.StateRunning, ImageID: "i-gone", Labels: owned(madeAgo("helper", 2*time.Hour), goneOwner)},
			{ID: "c-gone-exited", State: container.StateExited, ImageID: "i-gone", Labels: owned(madeAgo("probe", time.Minute), goneOwner)},
			{ID: "c-far-running", State: container.StateRunning, ImageID: "i-far", Labels: owned(madeAgo("helper", 3*time.Hour), elsewhere)},
			{ID: "c-far-exited", State: container.StateExited, ImageID: "i-far-exited", Labels: owned(madeAgo("probe", 3*time.Hour), elsewhere)},
			{ID: "c-unlabelled-new", State: container.StateExited, Labels: madeAgo("probe", time.Minute)},
		},
		images: []image.Summary{
			{ID: "i-live", Labels: owned(madeAgo("probe", 3*time.Hour), ownerOf())},
			{ID: "i-arming", Labels: owned(madeAgo("probe", time.Minute), goneOwner)},
			{ID: "i-gone", Labels: owned(madeAgo("probe", time.Minute), goneOwner)},
			{ID: "i-far", Labels: madeAgo("probe", 3*time.Hour)},
			{ID: "i-far-exited", Labels: madeAgo("probe", 3*time.Hour)},
		},
		removed: &removed,
	}
	if _, err := RemoveAbandoned(context.Background(), d, RunAge); err != nil {
		t.Fatal(err)
	}
	want := "container c-gone-running, container c-gone-exited, container c-far-exited, image i-gone, image i-far-exited"
	if got := strings.Join(removed, ", "); got != want {
		t.Errorf("removed %s\nwant    %s", got, want)
	}
}
