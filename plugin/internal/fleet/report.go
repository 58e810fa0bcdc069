package fleet

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary counts results for the exit message, grouped by result word in the
// order they first appear: "3 hosts: 2 enabled, 1 reverted", with failed hosts
// marked: "3 hosts: 1 enabled, 1 reverted (failed), 1 skipped".
func Summary(results []Result) string {
	var order []string
	count := map[string]int{}
	for _, r := range results {
		key := r.Result
		if r.Failed && key != resultFailed {
			key += " (failed)"
		}
		if count[key] == 0 {
			order = append(order, key)
		}
		count[key]++
	}
	parts := make([]string, len(order))
	for i, key := range order {
		parts[i] = fmt.Sprintf("%d %s", count[key], key)
	}
	head := fmt.Sprintf("%d hosts", len(results))
	if len(results) == 1 {
		head = "1 host"
	}
	if len(parts) == 0 {
		return head
	}
	return head + ": " + strings.Join(parts, ", ")
}

// Failed counts hosts whose run returned an error.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Failed {
			n++
		}
	}
	return n
}

// Skipped counts hosts not started.
func Skipped(results []Result) int {
	n := 0
	for _, r := range results {
		if r.Result == resultSkipped && !r.Failed {
			n++
		}
	}
	return n
}

// WriteTable prints HOST RESULT TIME MESSAGE, one line per host. Skipped
// hosts show "-" as time since they never ran.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "HOST\tRESULT\tTIME\tMESSAGE")
	for _, r := range results {
		host := r.Host
		if r.Canary {
			host += " (canary)"
		}
		took := fmt.Sprintf("%.1fs", r.Seconds)
		if r.Result == resultSkipped && !r.Failed {
			took = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", host, r.Result, took, oneLine(r.Message))
	}
	return tw.Flush()
}

// oneLine keeps a multi-line error from breaking the table's rows.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
