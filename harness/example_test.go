package harness_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker-userns/docker-userns/harness"
	"github.com/docker-userns/docker-userns/harness/fixtureimage"
)

func ExampleRun() {
	ctx := context.Background()
	v, _ := harness.VersionByName("26.1")
	d, err := harness.Run(ctx, v.Image)
	defer func() {
		if d != nil {
			_ = d.Terminate(ctx)
		}
	}()
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := d.ExecOK(ctx, "docker", "version", "--format", "{{.Server.Version}}")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(out, "26.1."))
	// Output: true
}

func ExampleDinD_PushImage() {
	ctx := context.Background()
	d, err := harness.Run(ctx, harness.Versions()[0].Image)
	defer func() {
		if d != nil {
			_ = d.Terminate(ctx)
		}
	}()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := d.StartRegistry(ctx); err != nil {
		fmt.Println(err)
		return
	}
	ref := harness.RegistryAddr + "/high:latest"
	if _, err := d.PushImage(ctx, ref, fixtureimage.File{Path: "/etc/x", UID: 70000, GID: 70000}); err != nil {
		fmt.Println(err)
		return
	}
	out, err := d.ExecOK(ctx, "sh", "-c", "docker pull -q "+ref+" && docker image inspect -f '{{len .RootFS.Layers}}' "+ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(out)
	// Output:
	// 127.0.0.1:5000/high:latest
	// 1
}

func ExampleRun_systemd() {
	ctx := context.Background()
	v, _ := harness.VersionByName("26.1")
	// v.Systemd is docker-userns-dind:26.1-systemd: systemd is PID 1 and
	// runs Debian's docker.service behind docker.socket.
	d, err := harness.Run(ctx, v.Systemd)
	defer func() {
		if d != nil {
			_ = d.Terminate(ctx)
		}
	}()
	if err != nil {
		fmt.Println(err)
		return
	}
	before, _ := d.DaemonPID(ctx)                // docker.service's MainPID
	if err := d.RestartDaemon(ctx); err != nil { // systemctl restart docker
		fmt.Println(err)
		return
	}
	after, _ := d.DaemonPID(ctx)
	out, err := d.ExecOK(ctx, "systemctl", "is-active", harness.DockerService, harness.DockerSocket)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(d.Flavour(), " ", after != before, "\n", out)
	// Output:
	// systemd true
	// active
	// active
}
