package hostagent

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Environment of this test binary playing the agent, for
// TestAgentOutlivesItsStarter.
const (
	agentChildEnv = "HOSTAGENT_TEST_AGENT"
	agentRootEnv  = "HOSTAGENT_TEST_ROOT"
	agentTokenEnv = "HOSTAGENT_TEST_TOKEN"
)

// TestAgentOutlivesItsStarter: the client that spawned the agent is killed
// (SIGKILL) while the agent starts, so the pipe of its ready line has no
// reader. The agent went on printing that line and died of SIGPIPE,
// leaving the change armed with no one to revert it (CI: the scenario
// "client dies mid-restart" on 20.10 saw the record in phase armed for 3
// minutes). It must carry on: here, with no restart and no daemon, to its
// revert.
func TestAgentOutlivesItsStarter(t *testing.T) {
	if os.Getenv(agentChildEnv) == "1" {
		os.Exit(Main([]string{"--root", os.Getenv(agentRootEnv), os.Getenv(agentTokenEnv)}))
	}
	root := tempRoot(t)
	rec := &Record{
		Token: NewToken(), Action: "enable", Socket: "/var/run/docker.sock",
		Restart: Restart{Strategy: "none"}, Timeout: time.Second, ConfirmTimeout: time.Second,
	}
	if err := Arm(root, rec); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentOutlivesItsStarter$")
	cmd.Env = append(os.Environ(), agentChildEnv+"=1", agentRootEnv+"="+root.Dir(), agentTokenEnv+"="+rec.Token)
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The starter is gone: nobody reads the ready line.
	_ = r.Close()
	_ = w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the agent did not end within a minute")
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("the agent died of %v once its starter was gone", ws.Signal())
		}
	}
	got, err := Lookup(root, rec.Token)
	if err != nil || got.Phase != Reverted {
		t.Errorf("the agent's record: %+v, %v; want phase %s", got, err, Reverted)
	}
}
