package daemon

import (
	"os"
	"strings"
	"testing"
)

// testdata/journal-trixie-nosuchuser.json is `journalctl -u docker.service
// -o json` on Debian trixie (Docker 26.1, systemd 257) after a restart with
// "userns-remap": "nosuchuser", fields trimmed: dockerd's plain exit line
// between systemd's own lines about the unit.
func TestParseJournalRecorded(t *testing.T) {
	f, err := os.Open("testdata/journal-trixie-nosuchuser.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := ParseJournal(f)
	if len(entries) != 6 {
		t.Fatalf("got %d entries, want 6", len(entries))
	}
	if e := entries[2]; e.Identifier != "systemd" || !strings.HasPrefix(e.Cursor, "s=") {
		t.Errorf("entry 2 = %+v, want systemd's with a cursor", e)
	}
	want := `Error during uid lookup for "nosuchuser": getent unable to find entry "nosuchuser" in passwd database`
	if got := LastFatal(entries); got != want {
		t.Errorf("LastFatal = %q, want %q", got, want)
	}
	// From the cursor of the first failure on, the second is the last.
	if got := LastFatal(entries[:2]); got != want {
		t.Errorf("LastFatal of the first two = %q", got)
	}
	if got := LastFatal(entries[:1]); got != "" {
		t.Errorf("LastFatal of a start that has not failed = %q, want none", got)
	}
}

func TestParseJournalFieldForms(t *testing.T) {
	in := strings.Join([]string{
		// MESSAGE as bytes: journald's form for text that is not UTF-8.
		`{"__CURSOR":"c1","SYSLOG_IDENTIFIER":"dockerd","MESSAGE":[102,97,105,108,101,100,32,116,111,32,115,116,97,114,116,32,100,97,101,109,111,110,58,32,255]}`,
		`not json at all`,
		``,
		// A field given twice is an array of values; the last counts.
		`{"__CURSOR":"c2","SYSLOG_IDENTIFIER":["x","dockerd"],"MESSAGE":"time=\"t\" level=fatal msg=\"boom\""}`,
		// No SYSLOG_IDENTIFIER: _COMM names the writer.
		`{"__CURSOR":"c3","_COMM":"dockerd","MESSAGE":null}`,
	}, "\n")
	entries := ParseJournal(strings.NewReader(in))
	if len(entries) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(entries), entries)
	}
	if got := entries[0].Message; got != "failed to start daemon: \xff" {
		t.Errorf("byte-array MESSAGE = %q", got)
	}
	if entries[1].Identifier != "dockerd" || entries[2].Identifier != "dockerd" || entries[2].Message != "" {
		t.Errorf("entries = %+v", entries)
	}
	if got := LastFatal(entries); got != `time="t" level=fatal msg="boom"` {
		t.Errorf("LastFatal = %q", got)
	}
}

func TestLastFatalCountsOnlyDockerdsExit(t *testing.T) {
	tests := []struct {
		id, msg string
		fatal   bool
	}{
		{"dockerd", `time="2026-11-28T05:41:54Z" level=info msg="Starting up"`, false},
		{"dockerd", `time="2026-11-28T05:41:54Z" level=error msg="failed to mount overlay" storage-driver=overlay2`, false},
		{"dockerd", `time="2026-11-28T05:41:54Z" level=warning msg="Running modprobe bridge br_netfilter failed"`, false},
		{"dockerd", `time="2026-11-28T05:41:54Z" level=fatal msg="unable to configure the Docker daemon"`, true},
		{"dockerd", `failed to start daemon: error initializing graphdriver: driver not supported`, true},
		{"dockerd", `unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid character '}'`, true},
		{"systemd", `Failed to start docker.service - Docker Application Container Engine.`, false},
		{"systemd", `docker.service: Start request repeated too quickly.`, false},
		{"containerd", `time="t" level=fatal msg="other unit's line"`, false},
		{"dockerd", ``, false},
	}
	for _, tt := range tests {
		got := LastFatal([]JournalEntry{{Identifier: tt.id, Message: tt.msg}}) != ""
		if got != tt.fatal {
			t.Errorf("%s %q: fatal %v, want %v", tt.id, tt.msg, got, tt.fatal)
		}
	}
}
