package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// stuckEnv makes this test binary the stuck command of TestSecondSignalEnds.
const stuckEnv = "DOCKER_USERNS_TEST_STUCK"

// TestSecondSignalEnds (red team case 4): the first SIGTERM cancels the
// commands' context; a command stuck where the context cannot reach it
// (it was a blocking read of a FIFO) ends at the second.
func TestSecondSignalEnds(t *testing.T) {
	if os.Getenv(stuckEnv) == "1" {
		ctx := withInterrupt(&cobra.Command{}).Context()
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("cancelled")
		time.Sleep(time.Hour) // stuck: nothing here looks at ctx
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalEnds$")
	cmd.Env = append(os.Environ(), stuckEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := bufio.NewScanner(out)
	waitFor := func(want string) {
		t.Helper()
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		t.Fatalf("the command never said %q", want)
	}
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	waitFor("ready")
	go func() { exited <- cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor("cancelled")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("after the second SIGTERM: %v, want killed by it", err)
		}
		exited <- err // for the deferred wait
	case <-time.After(10 * time.Second):
		t.Fatal("the command still runs 10 s after a second SIGTERM")
	}
}
