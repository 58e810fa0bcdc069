package hostagent

import (
	"errors"
	"os"
	"testing"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

func tempRoot(t *testing.T) hostfs.Root {
	t.Helper()
	root, err := hostfs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func armed(t *testing.T, root hostfs.Root) *Record {
	t.Helper()
	rec := &Record{Token: NewToken(), Action: "enable", Socket: "/var/run/docker.sock"}
	if err := Arm(root, rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// setPhase moves the record as the agent would.
func setPhase(t *testing.T, root hostfs.Root, token string, p Phase) {
	t.Helper()
	if _, err := update(root, token, func(r *Record) error { r.Phase = p; return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestConfirmOnlyWhileWaiting(t *testing.T) {
	root := tempRoot(t)
	rec := armed(t, root)
	if _, err := Confirm(root, rec.Token); !errors.Is(err, ErrNotWaiting) {
		t.Fatalf("confirm while armed: got %v, want ErrNotWaiting", err)
	}
	setPhase(t, root, rec.Token, Waiting)
	if _, err := Confirm(root, rec.Token); err != nil {
		t.Fatalf("confirm while waiting: %v", err)
	}
	if _, err := os.Stat(root.Path(RecordPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record still there after confirm: %v", err)
	}
	if _, err := Lookup(root, rec.Token); !errors.Is(err, ErrNoRecord) {
		t.Errorf("status after confirm: got %v, want ErrNoRecord", err)
	}
}

// A revert that started first wins: the confirmation is refused and the
// client learns why.
func TestConfirmLosesToARevert(t *testing.T) {
	root := tempRoot(t)
	rec := armed(t, root)
	if _, err := update(root, rec.Token, func(r *Record) error { r.Phase, r.Reason = Reverting, "no client confirmed"; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := Confirm(root, rec.Token)
	if !errors.Is(err, ErrNotWaiting) || got == nil || got.Reason != "no client confirmed" {
		t.Fatalf("confirm during revert: %+v %v", got, err)
	}
	// Unfinished: Collect leaves it; finished: Collect removes it.
	if got, err := Collect(root, rec.Token); err != nil || got.Phase != Reverting {
		t.Fatalf("collect while reverting: %+v %v", got, err)
	}
	setPhase(t, root, rec.Token, Reverted)
	if got, err := Collect(root, rec.Token); err != nil || got.Phase != Reverted {
		t.Fatalf("collect reverted: %+v %v", got, err)
	}
	if _, err := os.Stat(root.Path(RecordPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record still there after collect: %v", err)
	}
}

func TestAskRevertKeepsALaterPhase(t *testing.T) {
	root := tempRoot(t)
	rec := armed(t, root)
	left := HelperObjects{Container: "docker-userns-helper-1", Image: "docker-userns-probe:1"}
	got, err := AskRevert(root, rec.Token, "verify: uid_map differs", left)
	if err != nil || got.Phase != RevertAsked || got.Reason != "verify: uid_map differs" || got.Helper != left {
		t.Fatalf("ask revert: %+v %v", got, err)
	}
	setPhase(t, root, rec.Token, Reverted)
	if got, _ := AskRevert(root, rec.Token, "again", HelperObjects{}); got.Phase != Reverted || got.Reason != "verify: uid_map differs" {
		t.Errorf("ask revert after the revert changed the record: %+v", got)
	}
}

func TestArmRefusesWhileAnAgentRuns(t *testing.T) {
	root := tempRoot(t)
	first := armed(t, root)
	if _, err := update(root, first.Token, func(r *Record) error { r.AgentPID = 4242; return nil }); err != nil {
		t.Fatal(err)
	}
	// The root's /proc says pid 4242 is an agent.
	if err := os.MkdirAll(root.Path("/proc/4242"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root.Path("/proc/4242/cmdline"), []byte("/proc/self/fd/3\x00"+Command+"\x00--root\x00/"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(root.Path(RecordPath))
	if err := Arm(root, &Record{Token: NewToken()}); err == nil {
		t.Fatal("arm while another agent runs: no error")
	}
	if after, _ := os.ReadFile(root.Path(RecordPath)); string(after) != string(before) {
		t.Error("a refused arm changed the record")
	}
	// Once that agent is gone, a new change may be armed.
	if err := os.Remove(root.Path("/proc/4242/cmdline")); err != nil {
		t.Fatal(err)
	}
	if err := Arm(root, &Record{Token: NewToken()}); err != nil {
		t.Fatalf("arm after the agent ended: %v", err)
	}
}

func TestWrongTokenIsNoRecord(t *testing.T) {
	root := tempRoot(t)
	armed(t, root)
	if _, err := Confirm(root, "feedfeedfeedfeed"); !errors.Is(err, ErrNoRecord) {
		t.Errorf("confirm with another token: got %v", err)
	}
}
