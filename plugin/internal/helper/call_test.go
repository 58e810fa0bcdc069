package helper

import (
	"slices"
	"testing"
)

func TestCallArgv(t *testing.T) {
	call := Call{
		Command: "enable",
		Flags: []Flag{
			{Name: "for-image", Values: []string{"a:1", "b:2"}},
			{Name: "force", Values: []string{"true"}},
			{Name: "labels", Values: nil}, // an empty list flag
			{Name: "size", Values: []string{"auto"}},
			{Name: "timeout", Values: []string{"30s"}},
		},
		Args: []string{"agent"},
	}
	for _, c := range []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"as given", nil, []string{"enable", "--for-image=a:1", "--for-image=b:2", "--force=true", "--size=auto", "--timeout=30s", "--", "agent"}},
		{"overrides replace, empty drops, added in name order", map[string]string{"size": "70000", "for-image": "", "root": "/host", "format": "json"},
			[]string{"enable", "--force=true", "--timeout=30s", "--format=json", "--root=/host", "--size=70000", "--", "agent"}},
	} {
		if got := call.Argv(c.overrides); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if got := (Call{Command: "status"}).Argv(nil); !slices.Equal(got, []string{"status", "--"}) {
		t.Errorf("no flags, no args: %q", got)
	}
}
