package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// busyboxImageScript imports a root file system made from the container's
// static busybox (Debian's busybox-static) into the inner daemon as $1:
// /bin with busybox and a relative link per applet, /etc/passwd and
// /etc/group with root and nobody, and /tmp. The tarball is made once per
// container (about 400 links, a process each) and kept in busyboxTarball
// for the imports after each enable, whose new data root starts empty.
const busyboxImageScript = `set -eu
tarball=` + busyboxTarball + `
if [ ! -s "$tarball" ]; then
	dir=$(mktemp -d)
	trap 'rm -rf "$dir" "$tarball.$$"' EXIT
	mkdir -p "$dir/bin" "$dir/etc" "$dir/root" "$dir/tmp"
	chmod 1777 "$dir/tmp"
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
	mkdir -p "${tarball%/*}"
	tar -C "$dir" -cf "$tarball.$$" .
	mv "$tarball.$$" "$tarball"
fi
docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' "$tarball" "$1" >/dev/null
`

// busyboxTarball is where busyboxImageScript keeps the busybox root file
// system in the container, outside everything the plugin reads or writes.
const busyboxTarball = "/var/cache/docker-userns-harness/busybox.tar"

// ImportBusybox creates the image name (e.g. "busybox:latest") in the inner
// daemon: a few megabytes of static busybox with a shell and the usual
// tools, made without any registry.
func (d *DinD) ImportBusybox(ctx context.Context, name string) error {
	if _, err := d.ExecOK(ctx, "sh", "-c", busyboxImageScript, "sh", name); err != nil {
		return fmt.Errorf("import busybox image %s: %w", name, err)
	}
	return nil
}

// LoadImage puts img into the inner daemon as ref (e.g. "high:latest") with
// `docker load`, no registry involved: the way an image arrives from a
// tarball. A load the daemon refuses (a remapped daemon and a file owner
// beyond its range) is an *ExitError holding docker's output.
func (d *DinD) LoadImage(ctx context.Context, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("load image %s: %w", ref, err)
	}
	f, err := os.CreateTemp("", "harness-image-*.tar")
	if err != nil {
		return fmt.Errorf("load image %s: %w", ref, err)
	}
	defer os.Remove(f.Name())
	err = tarball.Write(tag, img, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("load image %s: write tarball: %w", ref, err)
	}
	inside := "/tmp/" + filepath.Base(f.Name())
	if err := d.CopyFile(ctx, f.Name(), inside, 0o600); err != nil {
		return fmt.Errorf("load image %s: %w", ref, err)
	}
	_, err = d.ExecOK(ctx, "sh", "-c", `docker load -q -i "$1"; status=$?; rm -f "$1"; exit $status`, "sh", inside)
	if err != nil {
		return fmt.Errorf("load image %s: %w", ref, err)
	}
	return nil
}
