package fleet

import (
	"bytes"
	"context"
	"io"
	"sync"
)

// LineWriter writes whole lines to a shared writer, each prefixed with its
// host, so the output of hosts running at once stays readable.
type LineWriter struct {
	w      io.Writer
	prefix []byte
	mu     *sync.Mutex // shared by every LineWriter on w; also guards buf
	buf    []byte      // partial line waiting for its newline
}

// PrefixWriter returns a writer that writes each complete line to w prefixed
// with "[host] ". All LineWriters sharing w must share mu; a nil mu gives the
// writer its own. A final partial line is written by Close.
func PrefixWriter(w io.Writer, host string, mu *sync.Mutex) *LineWriter {
	if mu == nil {
		mu = new(sync.Mutex)
	}
	return &LineWriter{w: w, prefix: []byte("[" + host + "] "), mu: mu}
}

// Write writes the complete lines of buffered data plus p in one call to w,
// holding mu so no other host's line lands in the middle.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	var out []byte
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		out = append(out, l.prefix...)
		out = append(out, l.buf[:i+1]...)
		l.buf = l.buf[i+1:]
	}
	if len(out) == 0 {
		return len(p), nil
	}
	// Copy the rest so buf does not pin the old array forever.
	l.buf = append([]byte(nil), l.buf...)
	_, err := l.w.Write(out)
	return len(p), err
}

// Close writes a final partial line, ended with a newline. It does not close w.
func (l *LineWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return nil
	}
	out := append(append(append([]byte(nil), l.prefix...), l.buf...), '\n')
	l.buf = nil
	_, err := l.w.Write(out)
	return err
}

// RollPrefixed is Roll with each host's progress written to w, every line
// prefixed with the host's name (PrefixWriter), lines of hosts run at once
// kept whole.
func RollPrefixed(ctx context.Context, hosts []string, opts Options, w io.Writer, run func(ctx context.Context, host string, progress io.Writer) (Outcome, error)) []Result {
	var mu sync.Mutex
	return Roll(ctx, hosts, opts, func(ctx context.Context, host string) (Outcome, error) {
		progress := PrefixWriter(w, host, &mu)
		defer progress.Close()
		return run(ctx, host, progress)
	})
}
