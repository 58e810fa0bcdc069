package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCgroupCPUReadsV1AndV2(t *testing.T) {
	for _, tc := range []struct {
		name, procCgroup, file, content string
		want                            time.Duration
	}{
		{"v1 cpuacct alone", "3:cpuset:/\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n", "cpuacct/docker/abc/cpuacct.usage", "2500000000\n", 2500 * time.Millisecond},
		{"v1 co-mounted", "4:cpu,cpuacct:/docker/abc\n", "cpu,cpuacct/docker/abc/cpuacct.usage", "7\n", 7},
		{"v2", "0::/system.slice/docker-abc.scope\n", "system.slice/docker-abc.scope/cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n", 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, tc.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			proc := filepath.Join(root, "cgroup")
			if err := os.WriteFile(proc, []byte(tc.procCgroup), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := cgroupCPU(root, proc)
			if err != nil || got != tc.want {
				t.Errorf("cgroupCPU = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
