package scenarios

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/docker-userns/docker-userns/harness"
)

// secretPath is a root-only file on the DinD host; /mnt/secret.txt inside
// a container that mounts the host's / with -v /:/mnt.
const (
	secretPath    = "/root/secret.txt"
	secretContent = "only root may read this"
)

// TestMountEscape: with remapping on, `docker run -v /:/mnt` no longer
// reads root-only host files; without it, it does; --userns=host bypasses
// remapping, and status and doctor name such a container while it runs.
func TestMountEscape(t *testing.T) {
	forEachHost(t, "Mount escape: -v /:/mnt cannot read root-only host files once remapped (default and agent); --userns=host bypasses it, and status/doctor say so", func(s *scenario) {
		readSecret := []string{"cat", "/mnt" + secretPath}
		s.Step("a fresh Docker host runs unremapped, with a root-only 0600 file", func() {
			s.Start()
			s.ImportBusybox()
			s.Shell("umask 077 && echo '" + secretContent + "' > " + secretPath)
			got := s.Run("stat", "-c", "%u:%g %a", secretPath)
			s.Check(got == "0:0 600", secretPath+" owned by 0:0 with mode 600", got)
		})
		s.Step("on the unremapped daemon a container mounting / reads the root-only file", func() {
			out := s.Run(append([]string{"docker", "run", "--rm", "-v", "/:/mnt", "busybox"}, readSecret...)...)
			s.Check(out == secretContent, "the container prints the secret", out)
		})

		s.Step("the operator runs docker userns enable default", func() {
			s.Run("docker", "userns", "enable", "default")
			s.Check(s.Remapped(), "docker info lists name=userns", s.Run("docker", "info", "--format", "{{json .SecurityOptions}}"))
			s.ImportBusybox()
		})
		s.Step("with remapping to dockremap the container gets Permission denied", func() {
			expectDenied(s, readSecret)
		})
		s.Step("with --userns=host the same container bypasses remapping and reads the file", func() {
			out := s.Run(append([]string{"docker", "run", "--rm", "--userns=host", "-v", "/:/mnt", "busybox"}, readSecret...)...)
			s.Check(out == secretContent, "the --userns=host container prints the secret", out)
		})
		s.Step("while a --userns=host container runs, status and doctor name it", func() {
			s.Run("docker", "run", "-d", "--name", "bypass", "--userns=host", "busybox", "sleep", "600")
			mode := s.Run("docker", "inspect", "-f", "{{.HostConfig.UsernsMode}} {{.State.Running}}", "bypass")
			s.Check(mode == "host true", "the daemon runs bypass with UsernsMode host", mode)

			var st struct {
				HostUserns []string `json:"hostUsernsContainers"`
				Warnings   []string `json:"warnings"`
			}
			out := s.Run("docker", "userns", "status", "--format", "json")
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				s.Fail("status --format json is a JSON object", err.Error()+": "+out)
			}
			s.Check(slices.Contains(st.HostUserns, "bypass"), `status lists "bypass" in hostUsernsContainers`, out)
			s.Check(slices.ContainsFunc(st.Warnings, func(w string) bool { return strings.Contains(w, "bypass") && strings.Contains(w, "--userns=host") }),
				"a status warning names bypass and --userns=host", strings.Join(st.Warnings, "\n"))

			res := s.Try("docker", "userns", "doctor", "--format", "json")
			findings, err := harness.JSONLines[struct{ Check, Verdict, Detail string }](res.Stdout)
			if err != nil {
				s.Fail("doctor --format json is a JSON object per finding, per line", err.Error()+": "+describe(res))
			}
			s.Check(slices.ContainsFunc(findings, func(f struct{ Check, Verdict, Detail string }) bool {
				return f.Verdict != "PASS" && strings.Contains(f.Check+f.Detail, "userns=host") && strings.Contains(f.Detail, "bypass")
			}), "a doctor finding, not PASS, names bypass and --userns=host", res.Stdout)
			s.Run("docker", "rm", "-f", "bypass")
		})

		s.Step("the operator switches to docker userns enable agent", func() {
			s.Run("useradd", "-r", "-M", "agent")
			s.Run("docker", "userns", "enable", "--force", "agent")
			// The daemon keeps a remapped data root per host root: <root>/<uid>.<gid>.
			want := "/" + strings.ReplaceAll(s.IDs("agent"), ":", ".")
			root := s.Run("docker", "info", "--format", "{{.DockerRootDir}}")
			s.Check(s.Remapped() && strings.HasSuffix(root, want), "remapped with data root .../"+want, root)
			s.ImportBusybox()
		})
		s.Step("with remapping to agent the container gets Permission denied", func() {
			expectDenied(s, readSecret)
		})
	})
}

// expectDenied: a remapped container mounting / reads world-readable files
// (the mount works) but not the root-only one.
func expectDenied(s *scenario, readSecret []string) {
	s.t.Helper()
	s.Run("docker", "run", "--rm", "-v", "/:/mnt", "busybox", "cat", "/mnt/etc/hostname")
	res := s.Try(append([]string{"docker", "run", "--rm", "-v", "/:/mnt", "busybox"}, readSecret...)...)
	s.Check(res.ExitCode != 0 && strings.Contains(res.Stderr, "Permission denied") && !strings.Contains(res.Stdout, secretContent),
		`cat fails with "Permission denied" and prints nothing of the file`, describe(res))
}
