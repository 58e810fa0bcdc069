package report

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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

	var progress bytes.Buffer
	rows := everyHost(context.Background(), ts, &progress, func(_ context.Context, _ int, t target.Target) (fleet.Outcome, error) {
		started.Done()
		select {
		case <-all:
			return fleet.Outcome{Result: "remapping on"}, nil
		case <-time.After(5 * time.Second):
			return fleet.Outcome{}, fmt.Errorf("%s ran alone: the other hosts did not start within 5s", t.Name)
		}
	})
	var table bytes.Buffer
	if err := fleet.WriteTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	if fleet.Failed(rows) > 0 {
		t.Errorf("fleet status: %s\n%s", fleet.Summary(rows), table.String())
	}
	if strings.Contains(table.String()+progress.String(), "canary") {
		t.Errorf("a host of a report is shown as a canary:\n%s%s", progress.String(), table.String())
	}
}
