// A map of the code, walking `docker userns enable agent` from the command
// line to a confirmed, remapped daemon. Each step names its package under
// plugin/internal (commands is plugin/commands).
//
// The docker CLI runs the binary twice: its metadata call, answered by
// metadatacall's init before docker/cli's packages are initialised, then
// the command.
//
// On this machine (the daemon's host is this one, target.DaemonIsLocal):
//
//  1. commands: newEnableCommand fills enableOptions; runEnable maps them
//     to one change.Options (changeOptions, shared with disable) and
//     runChange hands it to change.Run, then prints what comes back: one
//     host's remap.Outcome (writeOutcome), or a fleet's table (writeFleet),
//     in its own words or as --format says (dockerformat, docker/cli's
//     formatter). change.Run (internal/change) checks every value before
//     any work (Options.Check), and target.ForChange resolves the hosts
//     (--context), gives each ssh:// one an API client that shares one ssh
//     connection (sshreach.ClientOpts) and asks them at once whether their
//     daemons answer; sshreach names in one line why ssh did not (a rollout
//     refuses; a report, target.ForReport, gives that host its row). Each
//     host (onHost; a fleet through fleet.RollPrefixed) gets enable's size
//     for its images (--size auto, imagefit), then with --keep-images or
//     --keep-volumes the change is wrapped in carry.Around: Before lists,
//     saves and scans on the old daemon, After carries into the new one
//     once the change is confirmed, told how it ended by
//     remap.Outcome.CarryEnd.
//  2. remap.Enable (enable.go) runs enableRun's steps: parseOptions; under
//     the host lock (beginChange, which hostagent.Admit clears of an old
//     agent's record) it reads the host once (ReadSnapshot: accounts,
//     subid, daemonconfig, dockerdflags under a hostfs.Root); checkSetting
//     refuses a dockerd flag beside daemon.json; resolveUser (remapspec);
//     askDaemon asks the daemon its version and state (daemon.Inspect).
//  3. rangeplan.Make plans the ranges as that daemon's version reads them
//     (idmap: which lines, in file order); imagestore, runningwork and
//     validate (`dockerd --validate`) refuse what would break, before any
//     write (planChange, checkWork, checkReach). enableChanges turns the
//     plan into new file contents.
//  4. remap.apply (apply.go) records the intent (hostchange.State), writes
//     each file atomically under its lock with a backup (hostchange,
//     hostfs), saves the undo record and spawns the host agent
//     (hostagent.Arm, hostagent.Spawn).
//  5. The host agent (hostagent.Run, a detached copy of this binary)
//     restarts the daemon: systemd's docker.service as a job, or a signal
//     to dockerd and its supervisor (daemon.Restarter), and watches the
//     daemon's log or the journal for "cannot start".
//  6. remap.Finish (finish.go), back in the client, sees the restart by
//     what changed (the agent's record, not an outage: socket activation
//     hides it), verifies the new daemon through its API and, at the same
//     time, a probe container made of the small probe program the plugin
//     embeds (verify.Daemon, probe, probe/cmd/docker-userns-probe), and
//     confirms (Control.Confirm) or asks the agent to revert. Without a
//     confirmation in time the agent restores every file and restarts the
//     daemon with its old config by itself.
//
// Through the daemon (an ssh or tcp context, another machine's socket):
// change's changeFiles calls helper.Change instead of step 2. It starts a helper
// container from an image made of the plugin binary for the daemon's
// platform (probe.HelperFor: this one, or the release's Linux binary of
// the daemon's architecture in docker-userns-helpers/; probes pick the
// embedded probe program of that architecture), with the host's root at
// /host, running this same command as `enable --root /host --via local
// --arm-only --format json` with the change's own flags (change's
// helperArgv, built from change.Options, not from the flags the user
// gave): steps 2 to 5 run there, on the host's files,
// and the agent joins the host's namespaces. The helper returns the
// pending change (remap.Pending); step 6 runs here. The restart is seen on
// an event stream to the old daemon, let go once the arming helper is
// removed (daemon.RestartWatch.Release: dockerd waits up to 5 s at
// shutdown for open requests) and followed by the daemon's event history;
// then one control session (`__control session`, remap/session.go, opened
// by helper.Control's Collect) says the agent's phase and takes the
// confirmation or the revert on its stdin: one helper start after the
// restart (other calls: `__control status|confirm|revert|collect`).
//
// Under --root DIR that is not / (nor a helper's /host) DIR is a tree
// (helper.OpenRoot, hostfs.OpenTree): no daemon is asked (Env.API is
// nil, daemon.ErrNotAsked), the version comes from the tree
// (daemon.Installed, remap's treeVersion), nothing of it runs and the
// Restarter restarts nothing.
//
// status, doctor and test hand one report.Options to report.Run
// (internal/report), as enable hands its change to change.Run, and print
// what comes back (commands' runReport: one host's report, or a fleet's
// table, and the exit status). report.Run resolves the hosts
// (target.ForReport) and reads the one host, or every host of a fleet at
// once (no canary): here, on its files (status and doctor:
// remap.ReadStatus, remap.Doctor, the same snapshot and idmap model; test:
// livecheck), or through its daemon.
// Through the daemon a helper runs the same command with --root /host
// (report's reportArgv): for the one host of status or doctor its output
// is printed as it printed it (report.Printed), else decoded from its
// --format json; test's temporary directories are then made on the host it
// mounts (livecheck.Env.HostRoot), and when no helper runs, test checks
// from here without the host's files (livecheck.Env.NoHostFiles: SKIP,
// incomplete). test's verdict is livecheck.Report.Verdict.
// check-image hands report.ImagesOptions to report.Images: each host's
// images read as its daemon would get them (imagescan.ForDaemon) and
// judged (imagescan.Check) against the mapping report's mappingOn finds
// with imagefit: from --size, --user or the host's files here
// (MappingFor, ForUser, ForDaemon), from its status read by a helper
// elsewhere (MappingFromStatus).
//
// Every command also starts sweep.Beside (commands' root.go): the
// probe and helper containers and images a killed client left, found by
// the labels everything the plugin makes carries (sweep.Labels).
package main
