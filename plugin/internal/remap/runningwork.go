package remap

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// RunningWork is what a move of the daemon's data root does to the work the
// daemon holds now (issue 12 case 13): its images and containers stay on
// disk but go out of view, the containers it stops at the restart do not
// come back (a restart policy brings them back only once remapping is
// disabled), and with live-restore the running ones keep running without a
// daemon that knows them.
type RunningWork struct {
	// From and To are the data roots before and after the change.
	From string `json:"from"`
	To   string `json:"to"`
	// Images and Containers are the daemon's counts, the plugin's own
	// (the helper running this through the daemon) left out.
	Images     int `json:"images"`
	Containers int `json:"containers"`
	// Running names the containers that run now; RestartPolicy those with a
	// restart policy other than "no".
	Running       []string `json:"running,omitempty"`
	RestartPolicy []string `json:"restartPolicy,omitempty"`
	LiveRestore   bool     `json:"liveRestore,omitempty"`
}

// runningWork asks the daemon what a move of its data root to "to" would
// hide or orphan. The plugin's own containers and images (the helper running
// this through the daemon, a probe of a `test` run beside it) are not the
// operator's work: they are known by their labels (sweep.Ours).
func runningWork(ctx context.Context, api client.APIClient, to string) (*RunningWork, error) {
	res, err := api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("ask the daemon for its info: %w", err)
	}
	info := res.Info
	w := &RunningWork{From: info.DockerRootDir, To: to, Images: info.Images, Containers: info.Containers, LiveRestore: info.LiveRestoreEnabled}
	if w.Images > 0 {
		ours, err := api.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", sweep.LabelRole)})
		if err != nil {
			return w, fmt.Errorf("list the daemon's images: %w", err)
		}
		w.Images = max(w.Images-len(ours.Items), 0)
	}
	if w.Containers == 0 {
		return w, nil
	}
	list, err := api.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return w, fmt.Errorf("list the daemon's containers: %w", err)
	}
	for _, c := range list.Items {
		if sweep.Ours(c.Labels) {
			w.Containers = max(w.Containers-1, 0)
			continue
		}
		name := workName(c)
		if c.State == container.StateRunning || c.State == container.StateRestarting || c.State == container.StatePaused {
			w.Running = append(w.Running, name)
		}
		res, err := api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			return w, fmt.Errorf("inspect container %s: %w", name, err)
		}
		if hc := res.Container.HostConfig; hc != nil && !hc.RestartPolicy.IsNone() {
			w.RestartPolicy = append(w.RestartPolicy, name+" ("+string(hc.RestartPolicy.Name)+")")
		}
	}
	slices.Sort(w.Running)
	slices.Sort(w.RestartPolicy)
	return w, nil
}

func workName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	if len(c.ID) > 12 {
		return c.ID[:12]
	}
	return c.ID
}

// Warnings are the lines that tell the operator what the change does to
// the daemon's work.
func (w *RunningWork) Warnings() []string {
	if w == nil {
		return nil
	}
	var out []string
	if w.Images > 0 || w.Containers > 0 {
		out = append(out, fmt.Sprintf("the daemon's data root moves from %s to %s: its %d images and %d containers stay on disk but are not visible until remapping is disabled",
			w.From, w.To, w.Images, w.Containers))
	}
	if len(w.Running) > 0 && !w.LiveRestore {
		out = append(out, fmt.Sprintf("%d running containers are stopped by the restart: %s", len(w.Running), names(w.Running)))
	}
	if len(w.RestartPolicy) > 0 {
		out = append(out, fmt.Sprintf("%d containers with a restart policy do not come back after the restart (not until remapping is disabled): %s", len(w.RestartPolicy), names(w.RestartPolicy)))
	}
	if w.LiveRestore {
		if len(w.Running) > 0 {
			out = append(out, fmt.Sprintf("live-restore is on: %d running containers keep running, orphaned, with no daemon that can stop, inspect or remove them until remapping is disabled: %s", len(w.Running), names(w.Running)))
		} else {
			out = append(out, "live-restore is on: a container running at the restart keeps running, orphaned, with no daemon that knows it until remapping is disabled")
		}
	}
	return out
}

// Refusal is why enable stops without --force: running containers, which
// the restart stops or orphans, and live-restore, which orphans them.
func (w *RunningWork) Refusal() error {
	if w == nil {
		return nil
	}
	var why []string
	if len(w.Running) > 0 {
		why = append(why, fmt.Sprintf("%d containers run (%s)", len(w.Running), names(w.Running)))
	}
	if w.LiveRestore {
		why = append(why, "live-restore is on")
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("the restart moves the daemon's data root to %s and %s: stop them (and turn live-restore off) first, or pass --force to go ahead",
		w.To, strings.Join(why, " and "))
}

// names lists up to five names and counts the rest.
func names(list []string) string {
	const show = 5
	if len(list) <= show {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:show], ", "), len(list)-show)
}

// checkRunningWork tells what enable does to the daemon's work when the
// change moves its data root, in a dry run too, and refuses running
// containers and live-restore without --force. haveDaemon is false for a
// dry run that could not reach the daemon: there is nothing to count.
func checkRunningWork(ctx context.Context, env Env, haveDaemon bool, before daemon.State, plan rangeplan.Plan, opts EnableOptions) (*RunningWork, error) {
	if !haveDaemon {
		return nil, nil
	}
	to := dataRootAfter(before, plan)
	if path.Clean(to) == path.Clean(before.DataRoot) {
		return nil, nil
	}
	w, err := runningWork(ctx, env.API, to)
	if err != nil {
		return nil, err
	}
	for _, line := range w.Warnings() {
		env.say("WARNING: %s", line)
	}
	refusal := w.Refusal()
	switch {
	case refusal == nil || opts.Force:
	case opts.DryRun:
		env.say("enable would refuse: %v", refusal)
	default:
		return w, refusal
	}
	return w, nil
}
