package fleet

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestPrefixWriterBuffersPartialLines(t *testing.T) {
	var b strings.Builder
	w := PrefixWriter(&b, "ci-1", nil)
	steps := []struct {
		write, want string
	}{
		{"pulling", ""},
		{" alpine\nrestar", "[ci-1] pulling alpine\n"},
		{"ting\n\nok\nwait", "[ci-1] pulling alpine\n[ci-1] restarting\n[ci-1] \n[ci-1] ok\n"},
	}
	for _, s := range steps {
		n, err := w.Write([]byte(s.write))
		if err != nil || n != len(s.write) {
			t.Fatalf("Write(%q) = %d, %v", s.write, n, err)
		}
		if b.String() != s.want {
			t.Fatalf("after Write(%q):\n got %q\nwant %q", s.write, b.String(), s.want)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := steps[len(steps)-1].want + "[ci-1] wait\n"
	if b.String() != want {
		t.Fatalf("after Close:\n got %q\nwant %q", b.String(), want)
	}
	if err := w.Close(); err != nil || b.String() != want {
		t.Fatalf("second Close wrote %q, err %v", strings.TrimPrefix(b.String(), want), err)
	}
}

// Many hosts write lines in small pieces at once; every output line must be
// exactly one host's whole line, and each host's lines keep their order.
func TestPrefixWriterConcurrent(t *testing.T) {
	const hosts, linesPerHost = 8, 200
	var (
		b  strings.Builder
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for h := range hosts {
		host := fmt.Sprintf("h%d", h)
		w := PrefixWriter(&lockedBuilder{&b, &mu}, host, &mu)
		wg.Go(func() {
			for n := range linesPerHost {
				line := fmt.Sprintf("%s line %d of a long enough message\n", host, n)
				if n == linesPerHost-1 {
					line = strings.TrimSuffix(line, "\n") // last line ends at Close
				}
				// Write in pieces of 1..7 bytes so lines would tear without the mutex.
				for len(line) > 0 {
					k := min(1+n%7, len(line))
					if _, err := w.Write([]byte(line[:k])); err != nil {
						t.Error(err)
						return
					}
					line = line[k:]
				}
			}
			if err := w.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	next := map[string]int{}
	out := strings.TrimSuffix(b.String(), "\n")
	for _, l := range strings.Split(out, "\n") {
		host, rest, ok := strings.Cut(strings.TrimPrefix(l, "["), "] ")
		if !ok {
			t.Fatalf("line without prefix: %q", l)
		}
		n, err := strconv.Atoi(strings.Fields(rest + " x x")[2])
		if err != nil || rest != fmt.Sprintf("%s line %d of a long enough message", host, n) {
			t.Fatalf("torn line %q", l)
		}
		if n != next[host] {
			t.Fatalf("%s: line %d came when %d was due", host, n, next[host])
		}
		next[host]++
	}
	for h := range hosts {
		if host := fmt.Sprintf("h%d", h); next[host] != linesPerHost {
			t.Errorf("%s: %d lines, want %d", host, next[host], linesPerHost)
		}
	}
}

// lockedBuilder checks that every write happens under the shared mutex: a
// write without it would race on the builder and fail under -race.
type lockedBuilder struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	if l.mu.TryLock() {
		l.mu.Unlock()
		return 0, fmt.Errorf("write without the shared mutex held")
	}
	return l.b.Write(p)
}
