package remap

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/sweep"
)

// Status puts what the daemon says beside what the host files say.
type Status struct {
	Daemon      *daemon.State `json:"daemon,omitempty"`
	DaemonError string        `json:"daemonError,omitempty"`
	// DaemonNotAsked: the root is a tree, whose daemon is not asked
	// (DaemonError says so).
	DaemonNotAsked bool `json:"daemonNotAsked,omitempty"`
	// Setting is the userns-remap value in force and Source where it is set.
	Setting string              `json:"setting,omitempty"`
	Source  string              `json:"source,omitempty"`
	User    *remapspec.Identity `json:"user,omitempty"`
	// UIDRanges/GIDRanges are the user's subordinate ranges; UIDMap/GIDMap
	// the map dockerd builds from them.
	UIDRanges []subid.Range `json:"uidRanges,omitempty"`
	GIDRanges []subid.Range `json:"gidRanges,omitempty"`
	UIDMap    idmap.Map     `json:"uidMap,omitempty"`
	GIDMap    idmap.Map     `json:"gidMap,omitempty"`
	// Rule is how the daemon's version reads the ranges.
	Rule idmap.Rule `json:"rule,omitempty"`
	// Root is who container root is on the host, by the maps.
	Root     *RootOwner `json:"root,omitempty"`
	Warnings []string   `json:"warnings,omitempty"`
	// HostUserns lists running containers started with --userns=host, which
	// bypass remapping.
	HostUserns []string `json:"hostUsernsContainers,omitempty"`
	// ImageStore is the daemon's image store now and once remapping is
	// switched.
	ImageStore *StoreSwitch `json:"imageStore,omitempty"`
	// LeftBehind are the data roots the daemon does not use that hold
	// images, containers or volumes (the one before the last switch).
	LeftBehind []carry.RootContent `json:"leftBehind,omitempty"`
}

// ReadStatus gathers the status; a daemon that does not answer is reported
// in the status, not as an error, so the host half still shows.
func ReadStatus(ctx context.Context, root hostfs.Root, api client.APIClient) (Status, *Snapshot, error) {
	var st Status
	// The daemon is asked its Info and its running containers at once,
	// while the files are read: status waits for one answer, not three
	// steps in a row.
	inspected, running := beside(func() (daemon.State, error) { return daemon.Inspect(ctx, api) }), beside(func() ([]string, error) {
		if api == nil {
			return nil, nil
		}
		return HostUsernsContainers(ctx, api)
	})
	snap, err := ReadSnapshot(root)
	if err != nil {
		return st, nil, err
	}
	if state, err := inspected(); err != nil {
		st.DaemonError, st.DaemonNotAsked = err.Error(), errors.Is(err, daemon.ErrNotAsked)
	} else {
		st.Daemon = &state
		st.LeftBehind = carry.LeftBehind(root, state.DataRoot, state.Remapped)
		if st.HostUserns, err = running(); err != nil {
			st.Warnings = append(st.Warnings, err.Error())
		}
	}
	if err := st.readSetting(snap); err != nil {
		return st, snap, err
	}
	if st.Daemon != nil {
		sw := storeSwitch(root, *st.Daemon, snap.DaemonJSON)
		st.ImageStore = &sw
	}
	if st.Daemon != nil && st.Setting != "" && !st.Daemon.Remapped {
		st.Warnings = append(st.Warnings, fmt.Sprintf("userns-remap is set in %s but the daemon does not remap: restart it", st.Source))
	}
	if st.Daemon != nil && st.Setting == "" && st.Daemon.Remapped {
		st.Warnings = append(st.Warnings, "the daemon remaps but no userns-remap is set in the files it reads: restart it to turn remapping off")
	}
	if st.Daemon != nil && st.Daemon.Remapped && st.Daemon.ImageStore == daemon.ContainerdStore {
		feature := containerdSnapshotter
		if atLeast(st.Daemon.Version, firstSnapshotterGuard) {
			// Docker 29 turns the snapshotter off itself; the migration
			// brings the store back (guardedConflict).
			feature = containerdMigration
		}
		st.Warnings = append(st.Warnings, fmt.Sprintf("the daemon remaps with the containerd image store: every BuildKit RUN step fails (moby issue #47377); turn the store off (features.%s: false)", feature))
	}
	for _, name := range st.HostUserns {
		st.Warnings = append(st.Warnings, fmt.Sprintf("container %s runs with --userns=host: it bypasses remapping", name))
	}
	return st, snap, nil
}

// readSetting finds the remap value (a dockerd flag wins over daemon.json,
// as the daemon refuses both) and the user's ranges and map.
func (st *Status) readSetting(snap *Snapshot) error {
	var err error
	if st.Setting, st.Source, err = snap.Setting(); err != nil {
		return err
	}
	if st.Setting == "" {
		return nil
	}
	spec, err := remapspec.Parse(st.Setting)
	if err != nil {
		st.Warnings = append(st.Warnings, err.Error())
		return nil
	}
	ident, err := spec.Resolve(snap.Accounts)
	if err != nil {
		st.Warnings = append(st.Warnings, err.Error())
		return nil
	}
	st.User = &ident
	var version string
	if st.Daemon != nil {
		version = st.Daemon.Version
	} else if v, ok := daemon.Installed(snap.Root); ok && snap.Root.Tree() {
		version = v.Version
	}
	st.Rule = idmap.RuleFor(version)
	owner := ownerOf(ident)
	st.UIDRanges, st.GIDRanges = st.Rule.Lines(snap.SubUID, owner), st.Rule.Lines(snap.SubGID, owner)
	st.UIDMap, st.GIDMap = idmap.Build(st.UIDRanges), idmap.Build(st.GIDRanges)
	st.Root = rootOwnerOf(st.UIDMap, st.GIDMap, snap)
	for _, w := range rangeplan.Analyze(st.Rule, owner, snap.SubUID, snap.SubGID, snap.Accounts) {
		st.Warnings = append(st.Warnings, w.Message)
	}
	if st.Daemon != nil {
		if d := runningDiffers(*st.Daemon, st.UIDMap, st.GIDMap); d != "" {
			st.Warnings = append(st.Warnings, d+": restart it")
		}
	}
	return nil
}

// RootOwner is the host owner of container root: the user (owner layout),
// and for gids the user's group or another the operator chose (Buildkite's
// layout maps container gid 0 to the docker group). Names are empty for ids
// no account has (the isolated layout).
type RootOwner struct {
	UID   uint32 `json:"uid"`
	User  string `json:"user,omitempty"`
	GID   uint32 `json:"gid"`
	Group string `json:"group,omitempty"`
}

func (r RootOwner) String() string {
	name := func(id uint32, n string) string {
		if n == "" {
			return fmt.Sprintf("%d (no account)", id)
		}
		return fmt.Sprintf("%d (%s)", id, n)
	}
	return "uid " + name(r.UID, r.User) + ", gid " + name(r.GID, r.Group)
}

func rootOwnerOf(uidMap, gidMap idmap.Map, snap *Snapshot) *RootOwner {
	uid, okU := uidMap.Root()
	gid, okG := gidMap.Root()
	if !okU || !okG {
		return nil
	}
	r := &RootOwner{UID: uid, GID: gid}
	if u, ok := snap.Accounts.UserByID(uid); ok {
		r.User = u.Name
	}
	if g, ok := snap.Accounts.GroupByID(gid); ok {
		r.Group = g.Name
	}
	return r
}

// ownerOf is the remap user as dockerd looks it up in /etc/subuid and
// /etc/subgid: by the user's name and uid, in both files.
func ownerOf(ident remapspec.Identity) idmap.Owner {
	return idmap.Owner{Name: ident.User, UID: ident.UID, Known: ident.Exists}
}

// beside starts f now and returns a wait for its result.
func beside[T any](f func() (T, error)) (wait func() (T, error)) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	return func() (T, error) {
		r := <-done
		return r.v, r.err
	}
}

// inspectsAtOnce bounds the container inspections HostUsernsContainers
// has in flight: a host's many containers cost a few round trips, not one
// each, without flooding its daemon.
const inspectsAtOnce = 8

// HostUsernsContainers names the running containers that opted out of
// remapping with --userns=host, but the plugin's own (sweep.Ours): a helper
// reading the host through the daemon runs so, and is not a finding.
// The list has no user namespace mode: each container is inspected.
func HostUsernsContainers(ctx context.Context, api client.APIClient) ([]string, error) {
	list, err := api.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	hostMode := make([]bool, len(list.Items))
	slots := make(chan struct{}, inspectsAtOnce)
	var wg sync.WaitGroup
	for i, c := range list.Items {
		if sweep.Ours(c.Labels) {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			res, err := api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
			if err != nil {
				return // gone meanwhile
			}
			hc := res.Container.HostConfig
			hostMode[i] = hc != nil && hc.UsernsMode == container.UsernsMode("host")
		})
	}
	wg.Wait()
	var names []string
	for i, c := range list.Items {
		if hostMode[i] {
			names = append(names, containerName(c))
		}
	}
	return names, nil
}

func containerName(c container.Summary) string {
	if len(c.Names) > 0 {
		return c.Names[0][1:]
	}
	return c.ID[:12]
}
