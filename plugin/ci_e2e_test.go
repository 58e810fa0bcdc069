package main_test

import (
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/docker-userns/docker-userns/harness"
)

// gitLabJob is the README's GitLab CI job (the ```yaml block of "In CI"),
// the keys the test runs it by.
type gitLabJob struct {
	Services []struct {
		Name    string   `yaml:"name"`
		Command []string `yaml:"command"`
	} `yaml:"services"`
	Variables map[string]string `yaml:"variables"`
	Script    []string          `yaml:"script"`
	Artifacts struct {
		Reports struct {
			JUnit string `yaml:"junit"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

// readmeGitLabJob reads the README's GitLab CI example, so that the test
// runs exactly what the README shows.
func readmeGitLabJob(t *testing.T) gitLabJob {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "**In CI.**")
	_, block, ok2 := strings.Cut(after, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md: no ```yaml block after **In CI.**")
	}
	var jobs map[string]gitLabJob
	if err := yaml.Unmarshal([]byte(block), &jobs); err != nil {
		t.Fatalf("README.md's GitLab CI example: %v\n%s", err, block)
	}
	job, ok := jobs["userns-test"]
	if !ok || len(job.Services) != 1 || len(job.Script) == 0 || job.Artifacts.Reports.JUnit == "" {
		t.Fatalf("README.md's GitLab CI example: want job userns-test with one service, a script and a junit report:\n%s", block)
	}
	return job
}

// TestGitLabCIJob runs the README's GitLab CI job as GitLab would: a DinD
// host as its `docker:dind` service (the service's command added to
// dind's own flags, reachable as `docker` on a network of the test's own,
// nothing published) and the job's script, line for line, in a container
// beside it with the job's variables and the plugin where an earlier job
// left it (bin/docker-userns). The script exits 0 and its JUnit report
// holds one testsuite of five passed checks, all run through the daemon.
func TestGitLabCIJob(t *testing.T) {
	job := readmeGitLabJob(t)
	endpoint, err := url.Parse(job.Variables["DOCKER_HOST"])
	if err != nil || endpoint.Scheme != "tcp" || !strings.HasPrefix(job.Services[0].Name, endpoint.Hostname()+":") {
		t.Fatalf("README.md's GitLab CI example: DOCKER_HOST %q does not name the service %s", job.Variables["DOCKER_HOST"], job.Services[0].Name)
	}
	plugin, err := filepath.EvalSymlinks(filepath.Join(dockerConfigWithPlugin(t), "cli-plugins", "docker-userns"))
	if err != nil {
		t.Fatal(err)
	}
	harness.ForEachVersion(t, func(t *testing.T, v harness.Version) {
		nw := harness.NewNetwork(t)
		flags := append(append([]string{}, harness.DinDServiceFlags...), job.Services[0].Command...)
		harness.Start(t, v.Image, harness.WithServiceAlias(nw, endpoint.Hostname()), harness.WithDockerdFlags(flags...))

		res, err := harness.RunJob(t.Context(), v.Image, nw, harness.Job{
			Script: strings.Join(job.Script, "\n"),
			Env:    job.Variables,
			Files:  map[string]string{"bin/docker-userns": plugin},
		}, 10*time.Minute, job.Artifacts.Reports.JUnit)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the job's output:\n%s", res.Output)
		if res.ExitCode != 0 || strings.Count(res.Output, "PASS  ") != 5 {
			t.Errorf("the GitLab job: exit %d, want 0 and 5 PASS", res.ExitCode)
		}
		report, ok := res.Files[job.Artifacts.Reports.JUnit]
		if !ok {
			t.Fatalf("the GitLab job left no %s", job.Artifacts.Reports.JUnit)
		}
		var j junitCounts
		if err := xml.Unmarshal(report, &j); err != nil {
			t.Fatalf("%s: %v\n%s", job.Artifacts.Reports.JUnit, err, report)
		}
		if len(j.Suites) != 1 || j.Suites[0].Tests != 5 || j.Suites[0].Failures != 0 || j.Suites[0].Skipped != 0 {
			t.Errorf("%s: %+v, want one suite of 5 tests, none failed or skipped\n%s", job.Artifacts.Reports.JUnit, j, report)
		}
	})
}
