// Package sweep finds and removes what the plugin left in a daemon: the
// probe and helper containers and images a killed client did not remove.
// Everything the plugin makes carries its labels (Labels), naming the
// client that made it; every command sweeps beside its work (Beside).
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Labels on everything the plugin creates in a daemon (issue 12 case 12):
// probe and helper images and containers. A client killed outright leaves
// them behind; the next command sweeps those no live client owns
// (LabelOwner, abandoned).
const (
	// LabelRole is "probe" or "helper".
	LabelRole = "org.docker-userns.role"
	// LabelCreated is when the object was made, in Unix seconds.
	LabelCreated = "org.docker-userns.created"
)

// RunAge is how long a run may take between making an object and using it
// last, when the sweep cannot ask its owner: a stopped container or an
// image of ours older than that, whose owner is unknown, was left by a
// client that died. A running one is never taken for left (issue 23 case
// 8: a volume carry runs for hours).
const RunAge = 30 * time.Minute

// Ours tells whether an object's labels are those of a probe or helper the
// plugin made: never the operator's work, never a finding about the host.
func Ours(labels map[string]string) bool { return labels[LabelRole] != "" }

// Labels are the labels of an object the plugin makes in role ("probe" or
// "helper"): what the sweep finds it by.
func Labels(role string) map[string]string {
	l := map[string]string{LabelRole: role, LabelCreated: strconv.FormatInt(time.Now().Unix(), 10)}
	if owner := ownerOf(); owner != "" {
		l[LabelOwner] = owner
	}
	return l
}

// LabelChanges are Labels as image import changes (LABEL k=v ...).
func LabelChanges(role string) string {
	var b strings.Builder
	b.WriteString("LABEL")
	for k, v := range Labels(role) {
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return b.String()
}

// Leftover is a container or image the plugin made.
type Leftover struct {
	Kind    string    `json:"kind"` // container or image
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`

	// What the sweep decides by: the owner label, whether a container
	// runs, and the image it runs.
	owner   string
	running bool
	imageID string
}

func (l Leftover) String() string {
	return fmt.Sprintf("%s %s (%s, made %s)", l.Kind, l.Name, l.Role, l.Created.UTC().Format(time.RFC3339))
}

// List lists the plugin's containers and images in the daemon. Every
// command does first (Beside): the two lists are asked at once.
func List(ctx context.Context, api client.APIClient) ([]Leftover, error) {
	f := make(client.Filters).Add("label", LabelCreated)
	type images struct {
		res client.ImageListResult
		err error
	}
	imageList := make(chan images, 1)
	go func() {
		res, err := api.ImageList(ctx, client.ImageListOptions{Filters: f})
		imageList <- images{res, err}
	}()
	cs, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	is := <-imageList
	if err != nil {
		return nil, fmt.Errorf("list the plugin's containers: %w", err)
	}
	var out []Leftover
	for _, c := range cs.Items {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Leftover{Kind: "container", Name: name, ID: c.ID, Role: c.Labels[LabelRole], Created: createdOf(c.Labels, c.Created),
			owner: c.Labels[LabelOwner], running: !stopped(c.State), imageID: c.ImageID})
	}
	if is.err != nil {
		return out, fmt.Errorf("list the plugin's images: %w", is.err)
	}
	for _, i := range is.res.Items {
		name := i.ID
		if len(i.RepoTags) > 0 {
			name = i.RepoTags[0]
		}
		out = append(out, Leftover{Kind: "image", Name: name, ID: i.ID, Role: i.Labels[LabelRole], Created: createdOf(i.Labels, i.Created),
			owner: i.Labels[LabelOwner]})
	}
	return out, nil
}

func createdOf(labels map[string]string, fallback int64) time.Time {
	if s, err := strconv.ParseInt(labels[LabelCreated], 10, 64); err == nil {
		return time.Unix(s, 0)
	}
	return time.Unix(fallback, 0)
}

// stopped: a container in this state runs nothing of anyone's now.
func stopped(state container.ContainerState) bool {
	return state == container.StateExited || state == container.StateDead || state == container.StateCreated
}

// abandoned tells whether no live client owns l: its owner is gone and
// it is stopped or older than age (a helper whose client died mid-way
// still finishes arming the host agent, in seconds), or the sweep cannot
// ask the owner (no label, another machine, boot or pid namespace) and it
// is stopped and older than age. A live client's objects stay.
func (l Leftover) abandoned(age time.Duration) bool {
	old := time.Since(l.Created) >= age
	switch stateOf(l.owner) {
	case ownerAlive:
		return false
	case ownerGone:
		return !l.running || old
	}
	return !l.running && old
}

// RemoveAbandoned removes the plugin's containers, then images, that no
// live client owns (abandoned): what a killed client left. An image a
// container still runs from stays with it. It returns what it removed.
func RemoveAbandoned(ctx context.Context, api client.APIClient, age time.Duration) ([]Leftover, error) {
	all, err := List(ctx, api)
	if err != nil {
		return nil, err
	}
	var removed []Leftover
	var errs []error
	inUse := map[string]bool{}
	for _, kind := range []string{"container", "image"} {
		for _, l := range all {
			if l.Kind != kind || inUse[l.ID] {
				continue
			}
			if !l.abandoned(age) {
				inUse[l.imageID] = true
				continue
			}
			if kind == "container" {
				_, err = api.ContainerRemove(ctx, l.ID, client.ContainerRemoveOptions{Force: true})
			} else {
				_, err = api.ImageRemove(ctx, l.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
			if err != nil {
				inUse[l.imageID] = true
				errs = append(errs, fmt.Errorf("remove leftover %s: %w", l, err))
				continue
			}
			removed = append(removed, l)
		}
	}
	return removed, errors.Join(errs...)
}

// Beside is what every command does first: it starts removing what killed
// clients left (RemoveAbandoned, RunAge) beside the command, and returns
// report, which waits for the sweep and says what it removed on w (at the
// end, so that its lines do not cut into the command's). It never fails a
// command: a daemon that does not answer is the command's to report. Beside,
// not before: the sweep's list calls were on the path of every command
// (issue 16 row f); what it removes is no live client's, this run's
// included, and its calls end long before an enable's restart.
func Beside(ctx context.Context, api client.APIClient) (report func(w io.Writer)) {
	if api == nil {
		return func(io.Writer) {}
	}
	done := make(chan []Leftover, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		removed, _ := RemoveAbandoned(ctx, api, RunAge)
		done <- removed
	}()
	return func(w io.Writer) {
		for _, l := range <-done {
			fmt.Fprintf(w, "removed %s, left by a docker userns client that died\n", l)
		}
	}
}
