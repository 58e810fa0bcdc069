package releasetest

import (
	"bytes"
	"context"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// repoRoot is the repository's top folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// release is `make release` run once for the whole test binary.
var release struct {
	once          sync.Once
	dist, version string
	err           error
}

// dist runs scripts/release into a temporary folder (once) and returns it
// with the version it says.
func dist(t *testing.T) (dir, version string) {
	t.Helper()
	release.once.Do(func() {
		root := repoRoot(t)
		if given := os.Getenv("RELEASE_DIST"); given != "" {
			// A release built already (make release): checked, not rebuilt.
			release.dist, release.err = filepath.Abs(given)
			out, err := exec.Command(filepath.Join(root, "scripts/version")).Output()
			release.version, release.err = strings.TrimSpace(string(out)), errors.Join(release.err, err)
			return
		}
		// Not t.TempDir: every test of the binary shares it; and readable
		// by others, as install.sh runs as a regular user.
		release.dist, release.err = os.MkdirTemp("", "docker-userns-dist")
		if release.err != nil {
			return
		}
		_ = os.Chmod(release.dist, 0o755)
		release.err = runRelease(root, release.dist)
		if release.err == nil {
			var out []byte
			out, release.err = exec.Command(filepath.Join(root, "scripts/version")).Output()
			release.version = strings.TrimSpace(string(out))
		}
	})
	if release.err != nil {
		t.Fatal(release.err)
	}
	return release.dist, release.version
}

func TestMain(m *testing.M) {
	code := m.Run()
	if release.dist != "" && os.Getenv("RELEASE_DIST") == "" {
		os.RemoveAll(release.dist)
	}
	os.Exit(code)
}

func runRelease(root, into string) error {
	cmd := exec.Command(filepath.Join(root, "scripts/release"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DIST="+into)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/release: %w\n%s", err, out)
	}
	return nil
}

// binaries are the release's plugin binaries and how their headers say
// their platform.
var binaries = map[string]func(f *os.File) error{
	"docker-userns-linux-amd64":  elfOf(elf.EM_X86_64),
	"docker-userns-linux-arm64":  elfOf(elf.EM_AARCH64),
	"docker-userns-darwin-amd64": machoOf(macho.CpuAmd64),
	"docker-userns-darwin-arm64": machoOf(macho.CpuArm64),
	"docker-userns-windows-amd64.exe": func(f *os.File) error {
		p, err := pe.NewFile(f)
		if err != nil {
			return err
		}
		if p.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
			return fmt.Errorf("PE machine %#x, want AMD64", p.Machine)
		}
		return nil
	},
}

// elfOf checks a static Linux executable of machine m: no interpreter, so
// it runs in a helper image that holds nothing else.
func elfOf(m elf.Machine) func(*os.File) error {
	return func(f *os.File) error {
		e, err := elf.NewFile(f)
		if err != nil {
			return err
		}
		if e.Machine != m || e.Type != elf.ET_EXEC || e.OSABI != elf.ELFOSABI_NONE {
			return fmt.Errorf("ELF %v %v %v, want %v executable", e.Machine, e.Type, e.OSABI, m)
		}
		for _, p := range e.Progs {
			if p.Type == elf.PT_INTERP {
				return fmt.Errorf("ELF has an interpreter: not static")
			}
		}
		return nil
	}
}

func machoOf(cpu macho.Cpu) func(*os.File) error {
	return func(f *os.File) error {
		m, err := macho.NewFile(f)
		if err != nil {
			return err
		}
		if m.Cpu != cpu || m.Type != macho.TypeExec {
			return fmt.Errorf("Mach-O %v %v, want %v executable", m.Cpu, m.Type, cpu)
		}
		return nil
	}
}

func TestReleaseHasEveryFileWithItsChecksum(t *testing.T) {
	dir, version := dist(t)
	want := []string{"checksums.txt", "install.sh", "docker-userns.spdx.json",
		"docker-userns_" + version + "_amd64.deb", "docker-userns_" + version + "_arm64.deb"}
	for name := range binaries {
		want = append(want, name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for _, name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("dist has no %s (has %v)", name, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("dist holds %v, want exactly %v", got, want)
	}

	cmd := exec.Command("sha256sum", "-c", "--strict", "checksums.txt")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c checksums.txt: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), ": OK\n"); n != len(want)-1 {
		t.Errorf("sha256sum -c checked %d files, want every file but itself (%d):\n%s", n, len(want)-1, out)
	}
}

func TestReleaseBinariesAreOfTheirPlatform(t *testing.T) {
	dir, _ := dist(t)
	for name, check := range binaries {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := check(f); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReleaseReportsItsVersion: the version is the commit's, in the plugin
// metadata the docker CLI reads and in `version` and `--version`.
func TestReleaseReportsItsVersion(t *testing.T) {
	dir, version := dist(t)
	bin := filepath.Join(dir, "docker-userns-linux-amd64")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || string(out) != "docker-userns version "+version+"\n" {
			t.Errorf("docker-userns %v = %q, %v; want the version %s", args, out, err, version)
		}
	}
	out, err := exec.Command(bin, "docker-cli-plugin-metadata").Output()
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Version, ShortDescription string }
	if err := json.Unmarshal(out, &meta); err != nil || meta.Version != version || meta.ShortDescription == "" {
		t.Errorf("metadata %s (%v): want Version %s and the file's description", out, err, version)
	}
}

// TestReleaseArm64RunsUnderQemu runs the linux-arm64 binary with
// qemu-user-static's emulator directly (no binfmt_misc needed).
func TestReleaseArm64RunsUnderQemu(t *testing.T) {
	dir, version := dist(t)
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatalf("qemu-aarch64-static is missing: make tools installs qemu-user-static")
	}
	bin := filepath.Join(dir, "docker-userns-linux-arm64")
	out, err := exec.Command(qemu, bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage:") || !strings.Contains(string(out), "enable") {
		t.Fatalf("qemu docker-userns-linux-arm64 --help: %v\n%s", err, out)
	}
	out, err = exec.Command(qemu, bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), version) {
		t.Errorf("qemu docker-userns-linux-arm64 version: %v: %s", err, out)
	}
}

func TestReleaseDebianPackages(t *testing.T) {
	dir, version := dist(t)
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			deb := filepath.Join(dir, "docker-userns_"+version+"_"+arch+".deb")
			for field, want := range map[string]string{"Package": "docker-userns", "Version": version, "Architecture": arch} {
				out, err := exec.Command("dpkg-deb", "-f", deb, field).Output()
				if err != nil || strings.TrimSpace(string(out)) != want {
					t.Errorf("%s: %s = %q (%v), want %q", filepath.Base(deb), field, out, err, want)
				}
			}
			out, err := exec.Command("dpkg-deb", "-c", deb).Output()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, []byte("-rwxr-xr-x root/root")) || !bytes.Contains(out, []byte("./usr/libexec/docker/cli-plugins/docker-userns\n")) {
				t.Errorf("%s does not install a root-owned executable /usr/libexec/docker/cli-plugins/docker-userns:\n%s", filepath.Base(deb), out)
			}
			// The packaged binary is the release's binary of that architecture.
			ex := t.TempDir()
			if out, err := exec.Command("dpkg-deb", "-x", deb, ex).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb -x: %v: %s", err, out)
			}
			if !sameContent(t, filepath.Join(ex, "usr/libexec/docker/cli-plugins/docker-userns"), filepath.Join(dir, "docker-userns-linux-"+arch)) {
				t.Errorf("the package's binary is not docker-userns-linux-%s", arch)
			}
		})
	}
}

func TestReleaseSBOMListsTheLinkedModules(t *testing.T) {
	dir, version := dist(t)
	data, err := os.ReadFile(filepath.Join(dir, "docker-userns.spdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name, SPDXID, VersionInfo string
			ExternalRefs              []struct{ ReferenceLocator string }
		} `json:"packages"`
		Relationships []struct{ SpdxElementID, RelationshipType, RelatedSpdxElement string } `json:"relationships"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("SBOM is not JSON: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("spdxVersion %q", doc.SPDXVersion)
	}
	names := map[string]string{}
	for _, p := range doc.Packages {
		names[p.Name] = p.VersionInfo
	}
	for name := range binaries {
		if names[name] != version {
			t.Errorf("SBOM has no package %s at %s", name, version)
		}
	}
	for _, mod := range []string{"github.com/docker/cli", "github.com/moby/moby/client", "github.com/spf13/cobra", "stdlib", "github.com/docker-userns/docker-userns"} {
		if names[mod] == "" {
			t.Errorf("SBOM has no module %s", mod)
		}
	}
	described := 0
	for _, r := range doc.Relationships {
		if r.RelationshipType == "DESCRIBES" {
			described++
		}
	}
	if described != len(binaries) {
		t.Errorf("SBOM describes %d binaries, want %d", described, len(binaries))
	}
}

// TestReleaseIsReproducible builds the release in two fresh clones of this
// commit and compares their checksums.txt (slow: RELEASE_REPRO=1).
func TestReleaseIsReproducible(t *testing.T) {
	if os.Getenv("RELEASE_REPRO") != "1" {
		t.Skip("two more release builds: RELEASE_REPRO=1 runs it")
	}
	root := repoRoot(t)
	// Both clones at one commit, whatever is committed meanwhile.
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	var sums [2][]byte
	for i := range sums {
		clone := filepath.Join(t.TempDir(), "clone")
		if out, err := exec.Command("git", "clone", "-q", "--no-checkout", root, clone).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v: %s", err, out)
		}
		if out, err := exec.Command("git", "-C", clone, "checkout", "-q", "--detach", strings.TrimSpace(string(head))).CombinedOutput(); err != nil {
			t.Fatalf("git checkout: %v: %s", err, out)
		}
		into := filepath.Join(t.TempDir(), "dist")
		if err := runRelease(clone, into); err != nil {
			t.Fatal(err)
		}
		if sums[i], err = os.ReadFile(filepath.Join(into, "checksums.txt")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Errorf("two clones gave different checksums.txt:\n%s\n%s", sums[0], sums[1])
	}
}

// TestDebianPackageOnADebianHost installs the .deb on a Debian DinD host
// with Docker 28.5: docker userns works and docker info lists the plugin
// with no error, and dpkg -r takes it away.
func TestDebianPackageOnADebianHost(t *testing.T) {
	dir, version := dist(t)
	ctx := context.Background()
	v, ok := harness.VersionByName("28.5")
	if !ok {
		t.Fatal("no Docker 28.5 in the harness")
	}
	d, err := harness.Run(ctx, v.Image)
	t.Cleanup(func() {
		if d != nil {
			_ = d.Terminate(context.WithoutCancel(ctx))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	deb := "docker-userns_" + version + "_amd64.deb"
	if err := d.CopyFile(ctx, filepath.Join(dir, deb), "/tmp/"+deb, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := d.ExecOK(ctx, "dpkg", "-i", "/tmp/"+deb); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	if out, err := d.ExecOK(ctx, "docker", "userns", "version"); err != nil || out != "docker-userns version "+version+"\n" {
		t.Errorf("docker userns version after dpkg -i = %q, %v", out, err)
	}
	if out, err := d.ExecOK(ctx, "docker", "userns", "status"); err != nil {
		t.Errorf("docker userns status after dpkg -i: %v\n%s", err, out)
	}
	assertListed(t, ctx, d, version)
	if out, err := d.ExecOK(ctx, "dpkg", "-r", "docker-userns"); err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, out)
	}
	if res, err := d.Exec(ctx, "test", "-e", "/usr/libexec/docker/cli-plugins/docker-userns"); err != nil || res.ExitCode == 0 {
		t.Errorf("the plugin is still there after dpkg -r (%v)", err)
	}
	if res, err := d.Exec(ctx, "docker", "userns", "version"); err != nil || res.ExitCode == 0 {
		t.Errorf("docker userns still runs after dpkg -r (%v)", err)
	}
}

// assertListed checks docker info's plugin list: userns at version, no error.
func assertListed(t *testing.T, ctx context.Context, d *harness.DinD, version string) {
	t.Helper()
	res, err := d.Exec(ctx, "docker", "info", "--format", "{{json .ClientInfo.Plugins}}")
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("docker info: %v %+v", err, res)
	}
	if strings.Contains(res.Stderr, "WARNING") && strings.Contains(res.Stderr, "userns") {
		t.Errorf("docker info warns about the plugin: %s", res.Stderr)
	}
	var plugins []struct{ Name, Version, Err string }
	if err := json.Unmarshal([]byte(res.Stdout), &plugins); err != nil {
		t.Fatalf("docker info plugins %q: %v", res.Stdout, err)
	}
	for _, p := range plugins {
		if p.Name == "userns" {
			if p.Err != "" || p.Version != version {
				t.Errorf("docker info lists userns %s with error %q, want %s and none", p.Version, p.Err, version)
			}
			return
		}
	}
	t.Errorf("docker info does not list userns: %s", res.Stdout)
}

func sameContent(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
