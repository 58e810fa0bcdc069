package carry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/probe"
)

// volumeItem is a named volume of the local driver to carry.
type volumeItem struct {
	Item
	mountpoint string // its directory on the host, in the old root
	labels     map[string]string
	scan       VolumeScan
	// outside is the first entry whose host owner the old daemon's map
	// does not hold, and that owner ("" when there is none): the copy
	// could not shift it.
	outside string
}

func (v volumeItem) needed() uint64 {
	return uint64(max(v.scan.MaxUID, v.scan.MaxGID, 0)) + 1
}

func (v volumeItem) holder() string {
	if v.scan.MaxUID >= v.scan.MaxGID {
		return fmt.Sprintf("uid %d: %s", v.scan.MaxUID, v.scan.UIDHolder)
	}
	return fmt.Sprintf("gid %d: %s", v.scan.MaxGID, v.scan.GIDHolder)
}

// anonymousName is how the daemon names a container's anonymous volume.
var anonymousName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// anonymousLabel marks an anonymous volume (Docker 23 and newer).
const anonymousLabel = "com.docker.volume.anonymous"

// listVolumes sorts the daemon's volumes into those to carry (named, local
// driver, data in the data root) and those left alone, with the reason.
func (p *Plan) listVolumes(ctx context.Context, api API) error {
	list, err := api.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range list.Items {
		if why := leaveAlone(v); why != "" {
			p.others = append(p.others, Item{Kind: Volume, Name: v.Name, Result: LeftAlone, Note: why})
			p.say("warning: volume %s is not carried: %s", v.Name, why)
			continue
		}
		p.volumes = append(p.volumes, volumeItem{Item: Item{Kind: Volume, Name: v.Name}, mountpoint: v.Mountpoint, labels: v.Labels})
	}
	return nil
}

// leaveAlone says why a volume is not carried ("" when it is).
func leaveAlone(v volume.Volume) string {
	switch {
	case v.Driver != "local":
		return fmt.Sprintf("driver %q: only volumes of the local driver are carried; the driver keeps its data outside the data root", v.Driver)
	case len(v.Options) > 0:
		return "local volume with mount options (" + options(v.Options) + "): its data is not in the data root; create it again after the switch"
	case hasLabel(v.Labels, anonymousLabel) || anonymousName.MatchString(v.Name):
		return "anonymous volume of a container (containers are not carried)"
	}
	return ""
}

func hasLabel(labels map[string]string, key string) bool {
	_, ok := labels[key]
	return ok
}

func options(o map[string]string) string {
	var parts []string
	for _, k := range []string{"type", "device", "o"} {
		if o[k] != "" {
			parts = append(parts, k+"="+o[k])
		}
	}
	return strings.Join(parts, " ")
}

// scanVolumes runs one container of this binary on the old daemon that
// mounts every volume to carry read-only: their files, bytes and highest
// ids as its containers see them, the daemon's id maps, and the free space
// of its data root. Images alone do not start it (a probe image and a
// container are seconds on a busy host): a load that finds no room fails
// and leaves them, named, in the old root.
func (p *Plan) scanVolumes(ctx context.Context, api API) error {
	if len(p.volumes) == 0 {
		return nil
	}
	args := []string{"scan", "/data-root"}
	binds := []string{p.oldRoot + ":/data-root:ro"}
	for i, v := range p.volumes {
		dir := fmt.Sprintf("/v/%d", i)
		args = append(args, dir)
		binds = append(binds, v.Name+":"+dir+":ro")
	}
	p.say("scanning %d volume(s) in a container", len(p.volumes))
	var res ScanResult
	err := runCarry(ctx, api, p.opts.Binary, probe.RunOptions{Args: args, Binds: binds}, &res)
	if err != nil {
		return fmt.Errorf("scan volumes: %w", err)
	}
	if len(res.Volumes) != len(p.volumes) {
		return fmt.Errorf("scan volumes: %d results for %d volumes", len(res.Volumes), len(p.volumes))
	}
	if p.fromUID, err = idmap.Parse(res.UIDMap); err != nil {
		return err
	}
	if p.fromGID, err = idmap.Parse(res.GIDMap); err != nil {
		return err
	}
	p.freeRoot = res.FreeRoot
	for i := range p.volumes {
		p.volumes[i].scan = res.Volumes[i]
		p.volumes[i].Bytes, p.volumes[i].Files = res.Volumes[i].Bytes, res.Volumes[i].Files
	}
	return p.checkOwners(ctx, api)
}

// checkOwners finds, before the change, the files the copy could not
// shift: those whose host owner is outside the old daemon's map (left by a
// wider map of the same data root, changed in place since, or written
// from the host). The scan container, inside that map, sees such an owner
// as the kernel's overflow id, as it sees one really mapped to it; so
// only when a remapping daemon's volume holds an overflow-owned entry does
// one more container, outside remapping as the copy is (--userns=host),
// read the host owners of those volumes.
func (p *Plan) checkOwners(ctx context.Context, api API) error {
	if p.fromUID.Equal(idmap.Identity) && p.fromGID.Equal(idmap.Identity) {
		return nil
	}
	args := []string{"owners", p.fromUID.String(), p.fromGID.String()}
	var binds []string
	var suspects []*volumeItem
	for i := range p.volumes {
		if v := &p.volumes[i]; v.scan.Overflow != "" {
			args = append(args, fmt.Sprintf("/src/%d", i))
			binds = append(binds, v.mountpoint+fmt.Sprintf(":/src/%d:ro", i))
			suspects = append(suspects, v)
		}
	}
	if len(suspects) == 0 {
		return nil
	}
	p.say("reading the host owners of %d volume(s) with files of the overflow id (%s first), outside remapping", len(suspects), suspects[0].scan.Overflow)
	var outside []string
	err := runCarry(ctx, api, p.opts.Binary, probe.RunOptions{Args: args, Binds: binds, UsernsMode: "host"}, &outside)
	if err == nil && len(outside) != len(suspects) {
		err = fmt.Errorf("%d results for %d volumes", len(outside), len(suspects))
	}
	if err != nil {
		return fmt.Errorf("read volume owners: %w", err)
	}
	for i, v := range suspects {
		v.outside = outside[i]
	}
	return nil
}

// copyVolumes creates each volume in the new daemon (with its labels) and
// copies the old one's directory into it in one container of this binary,
// outside remapping (--userns=host) so that it reads and writes the host's
// own ids and shifts each owner itself. A volume of the same name that the
// new root already holds gets the old one's content in place of its own,
// unless a container there uses it: then it is left as it is. The
// container mounts each new volume's directory, not its _data, so that
// the copy goes beside _data and is swapped in once whole (CopyTree): a
// copy that fails leaves the volume that was there as it was, and one
// made for it is removed.
func (p *Plan) copyVolumes(ctx context.Context, api API, toUID, toGID idmap.Map) {
	args := []string{"copy", p.fromUID.String(), p.fromGID.String(), toUID.String(), toGID.String()}
	var binds []string
	var copied []*volumeItem
	made := map[*volumeItem]bool{}
	for i := range p.volumes {
		v := &p.volumes[i]
		v.Result, v.Note = NotCarried, ""
		target, err := p.targetVolume(ctx, api, v)
		if err != nil {
			v.Note = err.Error()
			continue
		}
		made[v] = !target.existed
		args = append(args, fmt.Sprintf("/src/%d", i), fmt.Sprintf("/dst/%d/%s", i, volumeData))
		binds = append(binds, v.mountpoint+fmt.Sprintf(":/src/%d:ro", i), path.Dir(target.mountpoint)+fmt.Sprintf(":/dst/%d", i))
		copied = append(copied, v)
	}
	if len(copied) == 0 {
		return
	}
	p.say("copying %d volume(s) into the new data root, owners shifted to the map %s", len(copied), toUID)
	var results []CopyResult
	err := runCarry(ctx, api, p.opts.Binary, probe.RunOptions{Args: args, Binds: binds, UsernsMode: "host"}, &results)
	if err == nil && len(results) != len(copied) {
		err = fmt.Errorf("%d results for %d volumes", len(results), len(copied))
	}
	for i, v := range copied {
		failed := err
		if failed == nil && results[i].Error != "" {
			failed = errors.New(results[i].Error)
		}
		switch {
		case failed == nil && made[v]:
			v.Result = Carried
		case failed == nil:
			v.Result, v.Note = Carried, "replaced what the new data root's volume of that name held"
		case made[v]:
			v.Note = "copy: " + failed.Error() + "; " + p.removeMade(ctx, api, v.Name)
		default:
			v.Note = "copy: " + failed.Error() + "; the new data root's volume of that name is as it was"
		}
	}
}

// volumeData is the directory of a local volume's content in the volume's
// own directory (moby volume/local/local.go, dataDirName).
const volumeData = "_data"

// removeMade removes the volume made in the new daemon for a copy that
// failed, and says what is left.
func (p *Plan) removeMade(ctx context.Context, api API, name string) string {
	if _, err := api.VolumeRemove(context.WithoutCancel(ctx), name, client.VolumeRemoveOptions{}); err != nil {
		return fmt.Sprintf("the volume made for it in the new data root is still there, empty or part-filled: remove it (%v)", err)
	}
	return "the volume made for it in the new data root is removed"
}

// newVolume is where a volume goes in the new daemon.
type newVolume struct {
	mountpoint string // its _data on the host
	existed    bool   // the new root held it already (no container uses it)
}

// targetVolume makes v in the new daemon, or finds it there unused.
func (p *Plan) targetVolume(ctx context.Context, api API, v *volumeItem) (newVolume, error) {
	if there, err := api.VolumeInspect(ctx, v.Name, client.VolumeInspectOptions{}); err == nil {
		if there.Volume.Mountpoint == v.mountpoint {
			return newVolume{}, fmt.Errorf("the new daemon's volume %s is the old one (%s): left as it is", v.Name, v.mountpoint)
		}
		users, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("volume", v.Name)})
		if err != nil {
			return newVolume{}, fmt.Errorf("ask which containers use the new root's volume %s: %w", v.Name, err)
		}
		if len(users.Items) > 0 {
			return newVolume{}, fmt.Errorf("the new data root has a volume %s used by container %s: left as it is", v.Name, strings.TrimPrefix(firstName(users.Items[0].Names), "/"))
		}
		return checkedVolume(there.Volume, true)
	}
	made, err := api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: v.Name, Driver: "local", Labels: v.labels})
	if err != nil {
		return newVolume{}, fmt.Errorf("create the volume in the new data root: %w", err)
	}
	return checkedVolume(made.Volume, false)
}

// checkedVolume is a volume of the new daemon that the copy can swap into:
// a local one whose content is a plain _data directory.
func checkedVolume(v volume.Volume, existed bool) (newVolume, error) {
	if why := leaveAlone(v); why != "" || path.Base(v.Mountpoint) != volumeData {
		return newVolume{}, fmt.Errorf("the new data root's volume %s (%s) is not a local driver's plain directory: left as it is", v.Name, v.Mountpoint)
	}
	return newVolume{mountpoint: v.Mountpoint, existed: existed}, nil
}

func firstName(names []string) string {
	if len(names) == 0 {
		return "?"
	}
	return names[0]
}

// runCarry runs this binary's carry action in a container made of it and
// decodes its JSON answer into v.
func runCarry(ctx context.Context, api API, binary string, opts probe.RunOptions, v any) (err error) {
	img, err := probe.Build(ctx, api, binary)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, img.Remove(context.WithoutCancel(ctx))) }()
	opts.Entrypoint = []string{probe.BinaryPath, Command}
	res, err := img.Run(ctx, opts)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("exit status %d: %s", res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	if err := json.Unmarshal([]byte(res.Stdout), v); err != nil {
		return fmt.Errorf("read its answer %q: %w", res.Stdout, err)
	}
	return nil
}
