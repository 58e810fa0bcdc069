package carry

import (
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"

	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
)

// TestAroundWithNothingToKeep: without --keep-*, an enable and a dry run
// ask the daemon nothing (a nil API would panic); a disable lists the
// remapped root before and the unremapped one after, and says what is in
// view again and what stays out of view.
func TestAroundWithNothingToKeep(t *testing.T) {
	m := idmap.Map{{Container: 0, Host: 165536, Size: 65536}}
	for _, c := range []struct {
		dryRun bool
		mapped uint64
		end    End
	}{
		{false, 65536, End{Switched: true, UID: m, GID: m}},
		{true, 0, End{DryRun: true}},
		{false, 65536, End{Unchanged: "already enabled: the data root did not change"}},
	} {
		a, err := Before(t.Context(), nil, Options{}, c.dryRun, c.mapped)
		if err != nil {
			t.Fatal(err)
		}
		if carried, reappeared, err := a.After(t.Context(), c.end, "enable"); carried != nil || reappeared != nil || err != nil {
			t.Errorf("%+v: %+v, %+v, %v", c, carried, reappeared, err)
		}
		a.Close()
	}

	d := &listingDaemon{root: "/var/lib/docker/165536.165536",
		images: []image.Summary{{ID: "sha256:made"}}, containers: []container.Summary{{ID: "c1"}}}
	a, err := Before(t.Context(), d, Options{}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	d.root, d.images, d.containers = "/var/lib/docker", []image.Summary{{ID: "sha256:old"}}, nil
	carried, reappeared, err := a.After(t.Context(), End{Switched: true, UID: idmap.Identity, GID: idmap.Identity, Unremapped: true}, "disable")
	if carried != nil || err != nil || reappeared == nil {
		t.Fatalf("disable: %+v, %+v, %v", carried, reappeared, err)
	}
	if reappeared.Visible != (RootContent{Path: "/var/lib/docker", Images: 1}) {
		t.Errorf("visible again: %+v", reappeared.Visible)
	}
	if m := reappeared.MadeWhileRemapped; m == nil || *m != (RootContent{Path: "/var/lib/docker/165536.165536", Images: 1, Containers: 1}) {
		t.Errorf("made while remapped: %+v", m)
	}
}

func TestReportCounts(t *testing.T) {
	r := &Report{Items: []Item{
		{Name: "a", Bytes: 10, Result: Carried},
		{Name: "b", Bytes: 20, Result: WouldCarry},
		{Name: "c", Bytes: 40, Result: WouldCarry},
		{Name: "d", Bytes: 80, Result: LeftAlone},
	}}
	if r.CountCarried() != 3 || r.BytesToCarry() != 60 {
		t.Errorf("carried %d, bytes to carry %d; want 3 and 60", r.CountCarried(), r.BytesToCarry())
	}
}
