package livecheck

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\nagent:x:999:999::/home/agent:/bin/sh\ndockremap:x:998:998::/:/bin/false\n"
	group  = "root:x:0:\nagent:x:999:\ndockremap:x:998:\n"
)

func root(t *testing.T, files map[string]string) hostfs.Root {
	t.Helper()
	base := map[string]string{"/etc/passwd": passwd, "/etc/group": group}
	for k, v := range files {
		base[k] = v
	}
	r, err := hostfs.Open(hostfstest.Tree(t, base))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestExpectOwnerLayout(t *testing.T) {
	r := root(t, map[string]string{
		"/etc/docker/daemon.json": `{"userns-remap": "agent"}`,
		"/etc/subuid":             "agent:999:1\nagent:100000:65536\n",
		"/etc/subgid":             "agent:999:1\nagent:100000:65536\n",
	})
	exp, err := Expect(r, "26.1.5")
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.UIDMap.String(); got != "0 999 1, 1 100000 65536" {
		t.Errorf("uid map %q", got)
	}
	if exp.RootUID() != 999 || exp.RootGID() != 999 || exp.UIDs() != 65537 || exp.GIDs() != 65537 {
		t.Errorf("root %d:%d, size %d/%d", exp.RootUID(), exp.RootGID(), exp.UIDs(), exp.GIDs())
	}
	if got := exp.rootOwner(); got != "999:999 (agent)" {
		t.Errorf("root owner %q", got)
	}
	if exp.Source != "/etc/docker/daemon.json" || exp.Setting != "agent" {
		t.Errorf("setting %q from %q", exp.Setting, exp.Source)
	}
}

// TestExpectKeepsFileOrder: dockerd never sorts a user's lines; with the
// wide range first, container root is its first id, not the user.
func TestExpectKeepsFileOrder(t *testing.T) {
	r := root(t, map[string]string{
		"/etc/docker/daemon.json": `{"userns-remap": "agent"}`,
		"/etc/subuid":             "agent:100000:65536\nagent:999:1\n",
		"/etc/subgid":             "agent:100000:65536\nagent:999:1\n",
	})
	for _, version := range []string{"20.10.24", "26.1.5", "28.5.2"} {
		exp, err := Expect(r, version)
		if err != nil {
			t.Fatal(err)
		}
		if got := exp.UIDMap.String(); got != "0 100000 65536, 65536 999 1" || exp.RootUID() != 100000 {
			t.Errorf("Docker %s: uid map %q", version, got)
		}
	}
}

func TestExpectIsolatedLayoutNamesNoUser(t *testing.T) {
	r := root(t, map[string]string{
		"/etc/docker/daemon.json": `{"userns-remap": "default"}`,
		"/etc/subuid":             "dockremap:100000:65536\n",
		"/etc/subgid":             "dockremap:200000:65536\n",
	})
	exp, err := Expect(r, "26.1.5")
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.rootOwner(); got != "100000:200000 (first subordinate ids of dockremap)" {
		t.Errorf("root owner %q", got)
	}
}

func TestExpectErrors(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"no setting":     {map[string]string{"/etc/docker/daemon.json": `{"debug": true}`}, "no userns-remap set in /etc/docker/daemon.json"},
		"no daemon.json": {nil, "no userns-remap set"},
		"no ranges": {map[string]string{
			"/etc/docker/daemon.json": `{"userns-remap": "agent"}`,
			"/etc/subuid":             "other:100000:65536\n",
		}, "find ranges of agent: none in /etc/subuid"},
		"unknown user": {map[string]string{"/etc/docker/daemon.json": `{"userns-remap": "nobody2"}`}, "nobody2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Expect(root(t, tc.files), "26.1.5")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := Expect(root(t, nil), "26.1.5"); !errors.Is(err, ErrNoSetting) {
		t.Errorf("no daemon.json: want ErrNoSetting, got %v", err)
	}
}

// sample is a report with one passing and one failing check.
func sample() Report {
	return Report{
		Daemon:  "26.1.5",
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Seconds: 1.5,
		Checks: []Check{
			{Name: CheckRemapping, OK: false, Status: "FAIL", Expected: "name=userns <listed>", Observed: "not listed & off", Seconds: 0.01},
			{Name: CheckRootOnly, OK: true, Status: "PASS", Expected: "permission denied", Observed: "open /mnt/secret: permission denied", Seconds: 0.5},
		},
		Failed: []string{CheckRemapping},
	}
}

func TestWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML header:\n%s", buf.String())
	}
	var doc struct {
		Suites []struct {
			Name       string `xml:"name,attr"`
			Tests      int    `xml:"tests,attr"`
			Failures   int    `xml:"failures,attr"`
			Timestamp  string `xml:"timestamp,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				SystemOut string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("parse the report back: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("want one testsuite, got %d", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != "docker userns test" || s.Tests != 2 || s.Failures != 1 || s.Timestamp != "2025-01-02T03:04:05Z" {
		t.Errorf("testsuite %+v", s)
	}
	if len(s.Properties) != 1 || s.Properties[0].Value != "26.1.5" {
		t.Errorf("properties %+v", s.Properties)
	}
	if len(s.Cases) != 2 {
		t.Fatalf("want two testcases, got %d", len(s.Cases))
	}
	failed, passed := s.Cases[0], s.Cases[1]
	if failed.Name != "remapping on" || failed.Failure == nil || failed.Time != "0.010" {
		t.Fatalf("failed case %+v", failed)
	}
	if want := "expected name=userns <listed>; observed not listed & off"; failed.Failure.Message != want {
		t.Errorf("failure message %q, want %q (escaped and read back)", failed.Failure.Message, want)
	}
	if !strings.Contains(failed.Failure.Text, "observed: not listed & off") {
		t.Errorf("failure text %q", failed.Failure.Text)
	}
	if passed.Failure != nil || !strings.Contains(passed.SystemOut, "permission denied") {
		t.Errorf("passed case %+v", passed)
	}
}

func TestWriteJUnitLeftoversFail(t *testing.T) {
	r := sample()
	r.Leftovers = []string{"remove probe image docker-userns-probe:abc: conflict"}
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tests="3" failures="2"`, `<testcase name="nothing left behind"`, `message="left behind: remove probe image docker-userns-probe:abc: conflict"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("junit lacks %s:\n%s", want, buf.String())
		}
	}
}

// hostlessDaemon answers Info and refuses to import images.
type hostlessDaemon struct {
	client.APIClient
	securityOptions []string
}

func (d hostlessDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: system.Info{ServerVersion: "28.5.2", SecurityOptions: d.securityOptions}}, nil
}

func (d hostlessDaemon) ImageImport(context.Context, client.ImageImportSource, string, client.ImageImportOptions) (client.ImageImportResult, error) {
	return nil, errors.New("import refused")
}

// TestWithoutTheHostsFilesTheRunIsIncomplete: when the host's files cannot
// be reached (the daemon refused the helper, a rootless daemon), the checks
// that need them are skipped with the reason, not failed; the report is
// incomplete and not OK, and JUnit marks them skipped.
func TestWithoutTheHostsFilesTheRunIsIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  Env
		why  string
	}{
		{"helper refused", Env{API: hostlessDaemon{}, NoHostFiles: "the daemon did not start the helper container: forbidden"}, "forbidden"},
		{"rootless daemon", Env{API: hostlessDaemon{securityOptions: []string{"name=seccomp,profile=builtin", "name=rootless"}}, Root: root(t, nil)}, "rootless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || !strings.Contains(rep.HostFilesError, tc.why) || rep.Expectation != nil {
				t.Errorf("report OK %v, host files error %q, expectation %v", rep.OK, rep.HostFilesError, rep.Expectation)
			}
			want := []string{CheckBindOwner, CheckRootOnly, CheckUIDBoundary}
			if !slices.Equal(rep.Incomplete, want) {
				t.Errorf("incomplete %q, want %q", rep.Incomplete, want)
			}
			// Not remapped and no probe: failures of the daemon, not of the host's files.
			if !slices.Equal(rep.Failed, []string{CheckRemapping, CheckIDMap}) {
				t.Errorf("failed %q", rep.Failed)
			}
			for _, c := range rep.Checks {
				if c.Skipped != (c.Status == StatusSkip) || (c.Skipped && !strings.HasPrefix(c.Observed, "needs the host's files: ")) {
					t.Errorf("check %+v", c)
				}
			}
			var buf bytes.Buffer
			if err := rep.WriteJUnit(&buf); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`skipped="3"`, `<skipped message="needs the host&#39;s files: `, `name="incomplete"`} {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("junit lacks %s:\n%s", want, buf.String())
				}
			}
		})
	}
}

// TestTempDirInAHelperIsOnTheHost: in a helper container the temporary
// directories are made under the host root it mounts and bind-mounted by
// their path on the host.
func TestTempDirInAHelperIsOnTheHost(t *testing.T) {
	host := t.TempDir()
	if err := os.Mkdir(filepath.Join(host, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	r := &runner{env: Env{HostRoot: host}}
	d, err := r.tempDir("docker-userns-test-bind-*", 0o777)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(d.path) != filepath.Join(host, "tmp") || filepath.Dir(d.onHost) != "/tmp" || filepath.Base(d.path) != filepath.Base(d.onHost) {
		t.Errorf("made %+v, want it in %s/tmp, seen as /tmp on the host", d, host)
	}
	r.removeDir(d)
	if _, err := os.Stat(d.path); !os.IsNotExist(err) || len(r.leftovers) > 0 {
		t.Errorf("not removed: %v %v", err, r.leftovers)
	}
}

// TestWriteJUnitHosts: one testsuite per host, a host with no report in error.
func TestWriteJUnitHosts(t *testing.T) {
	rep := sample()
	var buf bytes.Buffer
	if err := WriteJUnitHosts(&buf, []HostReport{{Host: "h1", Report: &rep}, {Host: "h2", Err: errors.New("context h2: no such host")}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuites name="docker userns test" tests="3" failures="1"`, `<testsuite name="docker userns test (h1)" tests="2" failures="1"`,
		`<testsuite name="docker userns test (h2)" tests="1" failures="0" errors="1"`, `<error message="context h2: no such host" type="ERROR">`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("junit lacks %s:\n%s", want, buf.String())
		}
	}
}

// ServerVersion says the daemon is of this machine's platform, so that
// probe and helper images are made of this plugin's own programs.
func (hostlessDaemon) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return client.ServerVersionResult{Os: runtime.GOOS, Arch: runtime.GOARCH}, nil
}
