// Package harness starts throwaway Docker-in-Docker daemons for tests, on
// testcontainers-go, from the offline images that `make dind-images` builds
// (see dind/images.conf). A test gets a daemon it may reconfigure, restart
// and break, drives it through `docker exec`, and throws it away:
//
//	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
//		d := harness.Start(t, v.Image, harness.WithPlugin(pluginPath))
//		out := d.MustExec(t, "docker", "userns", "status")
//		...
//	})
//
// # Flavours
//
// Each Docker version has a supervised image (Version.Image), whose entry
// script is PID 1 and restarts dockerd whenever it exits, and may have a
// systemd one (Version.Systemd, docker-userns-dind:VERSION-systemd), where
// systemd is PID 1 and dockerd runs as the Debian package's docker.service
// behind docker.socket (-H fd://), as on a server. Run reads the flavour
// from the image's label; Images lists every image with its Flavour, and
// Images(Systemd) only those; ForEachImage runs a test on each:
//
//	harness.ForEachImage(t, harness.Systemd, func(t *testing.T, img harness.Image) {
//		d := harness.Start(t, img.Ref) // subtest "26.1-systemd"
//		...
//	})
//
// DaemonPID, RestartDaemon, WaitDaemon and DaemonLog work on both: under
// systemd they read docker.service's MainPID, run `systemctl restart
// docker` (after daemon-reload and reset-failed) and read the journal.
// WithDockerdFlags becomes a drop-in (DockerdFlagsDropIn) written at boot.
//
// Nothing leaves the machine: the images are built from Debian packages, the
// inner daemon gets tiny images from ImportBusybox or pulls from the registry
// fixture on the DinD container's own loopback (StartRegistry, PushImage).
//
// # Hosts as Docker contexts
//
// Tests of a fleet want several daemons driven from the test process as
// remote hosts are, with `docker --context NAME`. StartHosts (RunHosts
// without testing) starts n DinD hosts side by side, each WithHostSocket:
// its dockerd also listens on a unix socket in a short host temp dir
// bind-mounted at /run/userns-host (SocketPath, DockerHost), besides the
// usual /var/run/docker.sock inside. Never TCP, no published port. The dir
// goes with the container. CreateContext names one in a docker config dir:
//
//	hosts := harness.StartHosts(t, v.Image, 3, harness.WithPlugin(pluginPath))
//	cfg := t.TempDir()
//	for i, d := range hosts {
//		if err := harness.CreateContext(ctx, cfg, fmt.Sprintf("h%d", i+1), d); err != nil {
//			t.Fatal(err)
//		}
//	}
//	// docker --config cfg --context h1 info
//
// The socket outlives RestartDaemon: dockerd recreates it in the mounted
// dir at each start. Its -H flags are entry-script arguments, so
// WithDockerdFlags and rewrites of DockerdFlagsPath leave them alone, but
// a daemon.json with "hosts" would stop dockerd from starting.
//
// The Ryuk reaper is turned off (its image cannot be pulled here): every test
// cleans up through Cleanup or Start. USERNS_KEEP_FAILED=1 keeps the
// containers of failed tests for inspection.
package harness
