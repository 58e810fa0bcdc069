package steptrace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMarkAppendsStampedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	t.Setenv(Env, path)
	Mark(VerifyBegin)
	Mark(Confirmed)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", raw)
	}
	var last int64
	for i, want := range []string{VerifyBegin, Confirmed} {
		fields := strings.SplitN(lines[i], " ", 3)
		if len(fields) != 3 || fields[1] != strconv.Itoa(os.Getpid()) || fields[2] != want {
			t.Fatalf("line %d: want <ns> %d %s, got %q", i, os.Getpid(), want, lines[i])
		}
		ns, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || ns < last {
			t.Fatalf("line %d: stamp %q not a growing time in ns", i, fields[0])
		}
		last = ns
	}
}

func TestMarkWithoutEnvWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, "")
	t.Chdir(dir)
	Mark(VerifyBegin)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("no %s: want nothing written, got %v", Env, entries)
	}
}
