package probe

import (
	"context"
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
			{ID: "c-old", Names: []string{"/docker-userns-helper-aaa"}, Labels: madeAgo("helper", 2*time.Hour)},
			{ID: "c-new", Names: []string{"/docker-userns-helper-bbb"}, Labels: madeAgo("helper", time.Minute)},
		},
		images: []image.Summary{
			{ID: "i-old", RepoTags: []string{"docker-userns-probe:aaa"}, Labels: madeAgo("probe", 2*time.Hour)},
			{ID: "i-new", RepoTags: []string{"docker-userns-probe:bbb"}, Labels: madeAgo("probe", time.Minute)},
		},
		removed: &removed,
	}
	var w strings.Builder
	SweepBeside(context.Background(), d)(&w)
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
// containers by their config.
func TestEverythingThePluginMakesIsLabelled(t *testing.T) {
	if c := labelChanges("probe"); !strings.HasPrefix(c, "LABEL ") || !strings.Contains(c, LabelRole+"=probe") || !strings.Contains(c, LabelCreated+"=") {
		t.Errorf("image label changes: %q", c)
	}
	if r := (RunOptions{Name: "docker-userns-helper-x"}).role(); r != "helper" {
		t.Errorf("a named container's role is %q", r)
	}
	if r := (RunOptions{}).role(); r != "probe" {
		t.Errorf("a probe container's role is %q", r)
	}
}
