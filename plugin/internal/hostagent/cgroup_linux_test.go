package hostagent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cgroup", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCgroupProcsFilesOfRealHosts: the layouts of PID 1 in the harness's
// hosts, read from them. On the systemd host (hybrid: v1 controllers plus
// cgroup2 at /sys/fs/cgroup/unified) the agent must also leave the v2
// hierarchy; before, "0::/init.scope" was looked for at
// /sys/fs/cgroup/init.scope, skipped as missing, and runc 1.3's cgroup.kill
// of the helper's v2 cgroup killed the agent on Docker 29's systemd host.
func TestCgroupProcsFilesOfRealHosts(t *testing.T) {
	for _, tc := range []struct {
		host string
		want []string
	}{
		{"hybrid-systemd", []string{
			"/sys/fs/cgroup/systemd/init.scope/cgroup.procs",
			"/sys/fs/cgroup/pids/init.scope/cgroup.procs",
			"/sys/fs/cgroup/blkio/cgroup.procs",
			"/sys/fs/cgroup/freezer/cgroup.procs",
			"/sys/fs/cgroup/devices/init.scope/cgroup.procs",
			"/sys/fs/cgroup/memory/init.scope/cgroup.procs",
			"/sys/fs/cgroup/cpuset/cgroup.procs",
			"/sys/fs/cgroup/cpuacct/cgroup.procs",
			"/sys/fs/cgroup/cpu/init.scope/cgroup.procs",
			"/sys/fs/cgroup/unified/init.scope/cgroup.procs",
		}},
		// No cgroup2 mount: the v2 line has nothing to leave.
		{"v1-supervised", []string{
			"/sys/fs/cgroup/systemd/cgroup.procs",
			"/sys/fs/cgroup/pids/cgroup.procs",
			"/sys/fs/cgroup/blkio/cgroup.procs",
			"/sys/fs/cgroup/freezer/cgroup.procs",
			"/sys/fs/cgroup/devices/cgroup.procs",
			"/sys/fs/cgroup/memory/cgroup.procs",
			"/sys/fs/cgroup/cpuset/cgroup.procs",
			"/sys/fs/cgroup/cpuacct/cgroup.procs",
			"/sys/fs/cgroup/cpu/cgroup.procs",
		}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			got, err := cgroupProcsFiles(readFixture(t, tc.host+".cgroup"), readFixture(t, tc.host+".mountinfo"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCgroupProcsFiles(t *testing.T) {
	const v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	for _, tc := range []struct {
		name, membership, mounts string
		want                     []string
		err                      string
	}{
		{name: "cgroup v2 only", membership: "0::/init.scope\n", mounts: v2,
			want: []string{"/sys/fs/cgroup/init.scope/cgroup.procs"}},
		{name: "co-mounted controllers and a mount of a subtree with a space",
			membership: "4:cpu,cpuacct:/docker/abc/init.scope\n",
			mounts:     "40 30 0:30 /docker/abc /sys/fs/cgroup/cpu\\040acct rw - cgroup cgroup rw,cpu,cpuacct\n",
			want:       []string{"/sys/fs/cgroup/cpu acct/init.scope/cgroup.procs"}},
		{name: "a second mount shows the cgroup",
			membership: "5:devices:/a/b\n",
			mounts: "41 30 0:33 /elsewhere /mnt/devices rw - cgroup cgroup rw,devices\n" +
				"42 30 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n",
			want: []string{"/sys/fs/cgroup/devices/a/b/cgroup.procs"}},
		{name: "mounted but PID 1's cgroup out of view",
			membership: "5:devices:/a/b\n",
			mounts:     "41 30 0:33 /elsewhere /mnt/devices rw - cgroup cgroup rw,devices\n",
			err:        `no mount of cgroup hierarchy "devices" shows PID 1's cgroup /a/b`},
		{name: "malformed membership", membership: "garbage\n", mounts: v2,
			err: `/proc/1/cgroup: malformed line "garbage"`},
		{name: "malformed mountinfo", membership: "0::/\n", mounts: "1 2 3\n",
			err: `/proc/1/mountinfo: parsing '1 2 3' failed: not enough fields (3)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cgroupProcsFiles([]byte(tc.membership), []byte(tc.mounts))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
