package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-userns/docker-userns/plugin/internal/fleet"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// TestReportsAskEveryHostAtOnce: status and doctor on a fleet read every
// host at the same time, none alone first and none shown as "(canary)":
// the canary belongs to rollouts that change hosts. Each host's read
// waits until all three have started, which a host run alone never sees.
func TestReportsAskEveryHostAtOnce(t *testing.T) {
	ts := []target.Target{{Name: "h1"}, {Name: "h2"}, {Name: "h3"}}
	var started sync.WaitGroup
	started.Add(len(ts))
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()

	var out, errOut bytes.Buffer
	dockerCLI, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	err = rollout(context.Background(), dockerCLI, "status", ts, readEveryHost(len(ts)), "", func(_ context.Context, t target.Target, _ io.Writer) (fleet.Outcome, error) {
		started.Done()
		select {
		case <-all:
			return fleet.Outcome{Result: "remapping on"}, nil
		case <-time.After(5 * time.Second):
			return fleet.Outcome{}, fmt.Errorf("%s ran alone: the other hosts did not start within 5s", t.Name)
		}
	})
	if err != nil {
		t.Errorf("fleet status: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "canary") {
		t.Errorf("a host of a report is shown as a canary:\n%s", out.String())
	}
}
