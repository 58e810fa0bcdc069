// Package harness starts throwaway Docker-in-Docker daemons for tests, on
// testcontainers-go, from the offline images that `make dind-images` builds
// (see dind/images.conf). A test gets a daemon it may reconfigure, restart
// and break, drives it through `docker exec`, and throws it away:
//
//	for _, v := range harness.Versions() {
//		t.Run(v.Name, func(t *testing.T) {
//			d := harness.Start(t, v.Image, harness.WithPlugin(pluginPath))
//			out, err := d.ExecOK(t.Context(), "docker", "userns", "check")
//			...
//		})
//	}
//
// Nothing leaves the machine: the images are built from Debian packages, the
// inner daemon gets tiny images from ImportBusybox or pulls from the registry
// fixture on the DinD container's own loopback (StartRegistry, PushImage).
//
// The Ryuk reaper is turned off (its image cannot be pulled here): every test
// cleans up through Cleanup or Start. USERNS_KEEP_FAILED=1 keeps the
// containers of failed tests for inspection.
package harness
