package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// JournalLog names the journal as the daemon's log, for messages.
const JournalLog = "journalctl -u " + DockerUnit

// journalTimeout bounds one journalctl run: reading the journal never
// holds up the wait for the daemon.
const journalTimeout = 3 * time.Second

// JournalEntry is the part of a journal entry (`journalctl -o json`) that
// tells whether dockerd gave up starting.
type JournalEntry struct {
	Cursor     string
	Identifier string // SYSLOG_IDENTIFIER, else _COMM
	Message    string
}

// Journal reads the journal of one unit with the host's journalctl. It is
// used on a host booted with systemd, from the host's namespaces (the host
// agent runs there, also when a helper container started it).
type Journal struct {
	Unit string
	// Since is the fallback start when the journal had no entry of the
	// unit before the restart (no cursor to read after).
	Since time.Time
	// Cursor is where the entries of interest begin (after it).
	Cursor string
}

// OpenJournal notes where the unit's journal ends now, so that
// StartFailure reads only what a restart adds. It fails when journalctl
// cannot be run: the caller then goes without early detection.
func OpenJournal(ctx context.Context, unit string) (*Journal, error) {
	j := &Journal{Unit: unit, Since: time.Now()}
	out, err := j.run(ctx, "-n", "1")
	if err != nil {
		return nil, err
	}
	entries := ParseJournal(strings.NewReader(out))
	if len(entries) > 0 {
		j.Cursor = entries[len(entries)-1].Cursor
	}
	return j, nil
}

// StartFailure returns the last fatal line dockerd wrote to the journal
// since the journal was opened, or "" when there is none (or journalctl
// fails or is slow: the caller asks again on its next poll).
func (j *Journal) StartFailure(ctx context.Context) string {
	args := []string{}
	if j.Cursor != "" {
		args = append(args, "--after-cursor="+j.Cursor)
	} else {
		args = append(args, "--since=@"+fmt.Sprint(j.Since.Unix()))
	}
	out, err := j.run(ctx, args...)
	if err != nil {
		return ""
	}
	return LastFatal(ParseJournal(strings.NewReader(out)))
}

func (j *Journal) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, journalTimeout)
	defer cancel()
	bin, err := lookPath("journalctl")
	if err != nil {
		return "", err
	}
	all := append([]string{"-u", j.Unit, "-o", "json", "--no-pager", "-q"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("journalctl %s: %v: %s", strings.Join(all, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// lookPath finds a host tool: on PATH, else where Debian and others put it
// (a host agent started from a helper container may have no PATH).
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found on PATH, /usr/bin or /bin", name)
}

// ParseJournal reads `journalctl -o json` output, one JSON object a line.
// MESSAGE is a string, or an array of bytes when it is not valid UTF-8;
// lines that are not JSON objects are skipped.
func ParseJournal(r io.Reader) []JournalEntry {
	var out []JournalEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			continue
		}
		e := JournalEntry{Cursor: field(raw["__CURSOR"]), Message: field(raw["MESSAGE"]), Identifier: field(raw["SYSLOG_IDENTIFIER"])}
		if e.Identifier == "" {
			e.Identifier = field(raw["_COMM"])
		}
		out = append(out, e)
	}
	return out
}

// field decodes a journal field: a string, an array of bytes, or (for a
// field given more than once) an array of those, of which the last counts.
func field(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b []byte
	var ints []int
	if json.Unmarshal(raw, &ints) == nil {
		for _, n := range ints {
			b = append(b, byte(n))
		}
		return string(b)
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return field(many[len(many)-1])
	}
	return ""
}

// LastFatal returns the message of the last entry in which dockerd says it
// cannot start: a fatal-level line, its "failed to start daemon", or the
// error main() prints plainly to stderr before it exits 1 (not in the
// time="..." level=... form of its other lines). systemd's own lines about
// the unit ("Failed to start ...", "Start request repeated too quickly")
// and dockerd's errors it lives through (level=error) do not count.
func LastFatal(entries []JournalEntry) string {
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Identifier != "dockerd" {
			continue
		}
		if msg := strings.TrimSpace(e.Message); isFatal(msg) {
			return msg
		}
	}
	return ""
}

// isFatal is isStartFailure for a line known to be dockerd's own: it gives
// up, or it is printed plainly, not in its log's level= form.
func isFatal(msg string) bool {
	return givesUp(msg) || msg != "" && !strings.HasPrefix(msg, "time=") && !strings.Contains(msg, " level=")
}
