package remap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/accounts"
	"github.com/docker-userns/docker-userns/plugin/internal/carry"
	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/dockerdflags"
	"github.com/docker-userns/docker-userns/plugin/internal/hostagent"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
	"github.com/docker-userns/docker-userns/plugin/internal/rangeplan"
	"github.com/docker-userns/docker-userns/plugin/internal/remapspec"
	"github.com/docker-userns/docker-userns/plugin/internal/subid"
	"github.com/docker-userns/docker-userns/plugin/internal/verify"
)

// Verdicts of a doctor check.
const (
	Pass = verify.VerdictPass
	Warn = verify.VerdictWarn
	Fail = verify.VerdictFail
)

// Finding is one doctor check: its verdict, what was seen and the fix.
type Finding struct {
	Check   string         `json:"check"`
	Verdict verify.Verdict `json:"verdict"`
	Detail  string         `json:"detail"`
	Fix     string         `json:"fix,omitempty"`
}

// Findings are doctor's results in the order checked.
type Findings []Finding

// Count is how many checks have the verdict.
func (fs Findings) Count(verdict verify.Verdict) int {
	n := 0
	for _, f := range fs {
		if f.Verdict == verdict {
			n++
		}
	}
	return n
}

// DoctorOptions are doctor's inputs beside the host.
type DoctorOptions struct {
	// Self is the helper container and image running this (through the
	// daemon; none on the host): not a leftover.
	Self hostagent.HelperObjects
	// SkipImages leaves out the scan of the local images.
	SkipImages bool
}

// Doctor runs the preflight checks. It reads everything itself, so that a
// broken file is a FAIL with a fix rather than an error that hides the rest.
func Doctor(ctx context.Context, root hostfs.Root, api client.APIClient, opts DoctorOptions) Findings {
	var out Findings
	add := func(check string, verdict verify.Verdict, detail, fix string) {
		out = append(out, Finding{Check: check, Verdict: verdict, Detail: detail, Fix: fix})
	}
	kernelChecks(root, add)

	db, dbErr := accounts.Load(root)
	if dbErr != nil {
		add("accounts", Fail, dbErr.Error(), "repair the file at the line named")
	}
	subuid, uidErr := subidCheck(root, SubUIDPath, add)
	subgid, gidErr := subidCheck(root, SubGIDPath, add)

	flags, err := dockerdflags.Scan(root)
	if err != nil {
		add("dockerd flags", Fail, err.Error(), "repair the unit or options file named")
		flags = &dockerdflags.Report{}
	}
	cfg, exists, cfgErr := daemonconfig.Load(root, flags.DaemonJSONPath())
	switch {
	case cfgErr != nil:
		add("daemon.json", Fail, cfgErr.Error(), "make it a valid JSON object; the daemon will not start with it")
	case !exists:
		add("daemon.json", Pass, flags.DaemonJSONPath()+" does not exist yet (enable creates it)", "")
	default:
		add("daemon.json", Pass, flags.DaemonJSONPath()+" is a valid JSON object", "")
	}

	var setting, source string
	if cfgErr == nil {
		setting, _, _ = cfg.UsernsRemap()
		source = flags.DaemonJSONPath()
	}
	switch conflict := flags.Conflict(); {
	case conflict != nil && setting != "":
		add("flag and config", Fail, conflict.Error()+" and in "+source+": dockerd refuses to start",
			"remove --userns-remap from the dockerd command line and keep it in daemon.json")
	case conflict != nil:
		f := flags.UsernsRemap[0]
		setting = f.Value
		add("flag and config", Warn, "userns-remap is a dockerd flag in "+f.Where()+": docker userns cannot manage it",
			"move it into daemon.json (remove the flag, run docker userns enable "+f.Value+")")
	default:
		add("flag and config", Pass, "no --userns-remap flag beside daemon.json", "")
	}

	pendingCheck(root, add)
	managedByCheck(ctx, daemon.Restarter{Strategy: daemon.StrategyAuto, Root: root, Pidfile: daemon.DefaultPidfile}, flags, add)

	// The daemon's version says how it reads the ranges; ask it first (a
	// tree's is read from the tree: its daemon is not asked).
	state, err := daemon.Inspect(ctx, api)
	if v, ok := daemon.Installed(root); ok && root.Tree() {
		state.Version = v.Version
	}
	if setting != "" && dbErr == nil && uidErr == nil && gidErr == nil {
		userChecks(setting, state, err == nil, db, subuid, subgid, add)
	} else if setting == "" {
		add("remap user", Pass, "remapping is not set; nothing to check yet", "")
	}

	daemonFinding(state, err, add)
	if root.Tree() && cfgErr == nil {
		dataRootCheck(root, treeDataRoot(&Snapshot{DaemonJSON: cfg}), false, add)
	}
	if err == nil {
		dataRootCheck(root, state.DataRoot, state.Remapped, add)
		leftBehindCheck(root, state, add)
		if cfgErr == nil {
			imageStoreCheck(root, state, cfg, setting != "", add)
		}
		leftoverCheck(ctx, api, opts.Self, add)
		if names, err := HostUsernsContainers(ctx, api); err == nil && len(names) > 0 {
			add("--userns=host containers", Warn, "running with remapping bypassed: "+strings.Join(names, ", "),
				"start them without --userns=host unless they truly need the host's ids")
		}
	}
	// A tree's images are its daemon's, which is not asked.
	if !opts.SkipImages && !root.Tree() {
		localImagesCheck(ctx, api, state, err, add)
	}
	return out
}

// localImagesCheck warns about local images whose files hold ids that a
// default range cannot map: after the switch to remapping they could not
// be pulled or loaded again without a wider --size. state and inspectErr
// are the daemon's answer.
func localImagesCheck(ctx context.Context, api client.APIClient, state daemon.State, inspectErr error, add addFunc) {
	const check = "local images"
	if inspectErr != nil {
		add(check, Warn, "not scanned: "+inspectErr.Error(), "")
		return
	}
	if state.Remapped {
		add(check, Pass, "remapping is on: the images in its data root were mapped when they were pulled", "")
		return
	}
	images, err := (&imagescan.Scanner{Daemon: api}).ScanDaemonAll(ctx)
	if err != nil {
		add(check, Warn, "not scanned: "+err.Error(), "")
		return
	}
	var tooWide []string
	for _, img := range images {
		if img.Needed() > rangeplan.DefaultSize {
			tooWide = append(tooWide, fmt.Sprintf("%s (needs %d ids)", img.Name, img.Needed()))
		}
	}
	if len(tooWide) > 0 {
		add(check, Warn, "hold ids past 65535, which a default range cannot map: "+strings.Join(tooWide, ", "),
			"docker userns enable --size auto USER (sizes the range for every local image)")
		return
	}
	add(check, Pass, fmt.Sprintf("all %d local images fit a 65536-wide range", len(images)), "")
}

// pendingCheck is doctor's view of the agent's record: nothing when there
// is none or it is finished.
func pendingCheck(root hostfs.Root, add addFunc) {
	rec, standing, err := hostagent.ReadStanding(root)
	switch {
	case err != nil:
		add("pending change", Fail, err.Error(), "look at the file; remove it once no agent runs (`docker userns enable --discard-pending` keeps a copy)")
	case standing == hostagent.StandingAgentRuns:
		add("pending change", Warn, fmt.Sprintf("%s: its agent (pid %d) runs and restores the files unless the change is confirmed", rec.Describe(), rec.AgentPID), "wait for it")
	case standing == hostagent.StandingAgentGone:
		add("pending change", Fail, fmt.Sprintf("%s is unfinished and its agent is gone; %s holds the files' contents from before it (%s)", rec.Describe(), hostagent.RecordPath, strings.Join(rec.Files.Changed(), ", ")),
			"check the files against the record, then run enable or disable with --discard-pending")
	}
}

type addFunc func(check string, verdict verify.Verdict, detail, fix string)

// kernelChecks: user namespaces must be usable at all.
func kernelChecks(root hostfs.Root, add addFunc) {
	data, err := root.ReadFile("/proc/sys/user/max_user_namespaces")
	switch {
	case err != nil:
		add("user namespaces", Warn, "cannot read /proc/sys/user/max_user_namespaces: "+err.Error(), "")
	case strings.TrimSpace(string(data)) == "0":
		add("user namespaces", Fail, "user.max_user_namespaces is 0", "sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d/)")
	default:
		add("user namespaces", Pass, "user.max_user_namespaces is "+strings.TrimSpace(string(data)), "")
	}
	// RHEL/CentOS 7 ship user namespaces switched off behind this parameter.
	if data, err := root.ReadFile("/sys/module/user_namespace/parameters/enable"); err == nil {
		if v := strings.TrimSpace(string(data)); v != "Y" && v != "1" {
			add("user_namespace.enable", Fail, "the kernel has user namespaces turned off (user_namespace.enable="+v+")",
				`grubby --args="user_namespace.enable=1" --update-kernel="$(grubby --default-kernel)" and reboot`)
		}
	}
}

func subidCheck(root hostfs.Root, p string, add addFunc) (*subid.File, error) {
	data, err := root.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		add(p, Warn, p+" does not exist", "enable creates it; or: touch "+p)
		return subid.Parse(p, nil)
	}
	if err != nil {
		add(p, Fail, err.Error(), "")
		return nil, err
	}
	f, err := subid.Parse(p, data)
	if err != nil {
		add(p, Fail, err.Error(), "fix or remove the line named (format: name:start:count)")
		return nil, err
	}
	add(p, Pass, fmt.Sprintf("%d ranges, all well formed", len(f.Ranges())), "")
	return f, nil
}

// userChecks: the remap user and group exist, and their ranges are wide and
// collide with nothing.
func userChecks(setting string, state daemon.State, answered bool, db *accounts.DB, subuid, subgid *subid.File, add addFunc) {
	spec, err := remapspec.Parse(setting)
	if err != nil {
		add("remap user", Fail, err.Error(), "docker userns enable USER")
		return
	}
	ident, err := spec.Resolve(db)
	if err != nil {
		add("remap user", Fail, err.Error(), "docker userns enable --create-user "+setting)
		return
	}
	if !ident.Exists {
		add("remap user", Warn, "dockremap does not exist yet; dockerd creates it on start", "")
		return
	}
	add("remap user", Pass, fmt.Sprintf("%s (uid %d), group %s (gid %d)", ident.User, ident.UID, ident.Group, ident.GID), "")
	rule, owner := idmap.RuleFor(state.Version), ownerOf(ident)
	uidMap, gidMap := rule.Of(subuid, owner), rule.Of(subgid, owner)
	warnings := rangeplan.Analyze(rule, owner, subuid, subgid, db)
	if len(warnings) == 0 {
		add("ranges", Pass, fmt.Sprintf("uid %s; gid %s (as %s reads them); no collisions", uidMap, gidMap, rule.Describe()), "")
	}
	for _, w := range warnings {
		verdict, fix := Fail, "docker userns enable --force "+setting+" (the owner layout uses a free range)"
		switch w.Code {
		case rangeplan.WarnNarrow:
			verdict, fix = Warn, "docker userns enable --size 65536 "+setting
		case rangeplan.WarnSkipped:
			verdict, fix = Warn, "key every line of "+ident.User+" the same way (by name or by uid), or remove the line named"
		}
		add("ranges", verdict, w.Message, fix)
	}
	if answered {
		if d := runningDiffers(state, uidMap, gidMap); d != "" {
			add("running map", Fail, d, "restart the daemon (docker userns enable "+setting+" does it and verifies)")
		}
	}
}

// runningDiffers says how the daemon's remapped data root (named after the
// host ids of container root) differs from what the files predict; "" when
// it does not, or the daemon does not remap.
func runningDiffers(state daemon.State, uidMap, gidMap idmap.Map) string {
	uid, gid, ok := state.RemappedRootPair()
	if !state.Remapped || !ok {
		return ""
	}
	wantUID, okU := uidMap.Root()
	wantGID, okG := gidMap.Root()
	if okU && okG && uid == wantUID && gid == wantGID {
		return ""
	}
	return fmt.Sprintf("the daemon runs container root as host %d:%d (data root %s), the files give uid map %s and gid map %s", uid, gid, state.DataRoot, uidMap, gidMap)
}

func daemonFinding(state daemon.State, err error, add addFunc) {
	if errors.Is(err, daemon.ErrNotAsked) {
		add("daemon", Warn, "not reached: "+err.Error(), "check the daemon where the tree runs (docker userns doctor there)")
		return
	}
	if err != nil {
		add("daemon", Fail, err.Error(), "start the daemon, or point the CLI at it (--context, DOCKER_HOST)")
		return
	}
	add("daemon", Pass, fmt.Sprintf("Docker %s answers; remapping %s", state.Version, map[bool]string{true: "on", false: "off"}[state.Remapped]), "")
}

// dataRootCheck: every parent of the data root must be searchable (o+x) by
// the remapped root, which is an unprivileged user on the host.
func dataRootCheck(root hostfs.Root, dataRoot string, remapped bool, add addFunc) {
	base, blocked := blockedParents(root, dataRoot, remapped)
	if len(blocked) > 0 {
		add("data root parents", Fail, "not searchable by others: "+strings.Join(blocked, ", "), "chmod o+x on each directory named")
		return
	}
	add("data root parents", Pass, "every parent of "+base+" is searchable", "")
}

// blockedParents lists the parents of the daemon's base data root (the
// data root without a remapped "<uid>.<gid>") that others cannot search.
func blockedParents(root hostfs.Root, dataRoot string, remapped bool) (base string, blocked []string) {
	base = dataRoot
	if remapped {
		base = path.Dir(dataRoot)
	}
	for dir := path.Dir(base); ; dir = path.Dir(dir) {
		if info, err := root.Stat(dir); err == nil && info.Mode().Perm()&0o001 == 0 {
			blocked = append(blocked, fmt.Sprintf("%s (%v)", dir, info.Mode().Perm()))
		}
		if dir == "/" || dir == "." {
			break
		}
	}
	return base, blocked
}

// leftBehindCheck reminds of the data roots the daemon no longer uses:
// their images and volumes are on disk, out of the daemon's view.
func leftBehindCheck(root hostfs.Root, state daemon.State, add addFunc) {
	roots := carry.LeftBehind(root, state.DataRoot, state.Remapped)
	if len(roots) == 0 {
		return
	}
	var parts []string
	for _, r := range roots {
		parts = append(parts, r.String())
	}
	back := "disable"
	if !state.Remapped {
		back = "enable"
	}
	add("other data roots", Pass, fmt.Sprintf("out of the daemon's view, on disk: %s (`docker userns %s --keep-images --keep-volumes` carries what the daemon holds now across; the next switch shows the other root again)", strings.Join(parts, "; "), back), "")
}
