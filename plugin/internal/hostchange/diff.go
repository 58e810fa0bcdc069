package hostchange

import (
	"fmt"
	"strings"
)

// contextLines is how many unchanged lines surround a change, as diff -u does.
const contextLines = 3

// maxCells bounds the LCS table; beyond it the whole file is one hunk.
const maxCells = 4_000_000

type op struct {
	kind byte // ' ', '-', '+'
	text string
}

// splitLines splits content into lines keeping track of a missing final newline.
func splitLines(s string) (lines []string, noFinalNL bool) {
	if s == "" {
		return nil, false
	}
	noFinalNL = !strings.HasSuffix(s, "\n")
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n"), noFinalNL
}

// lineOps is the edit script from a to b (longest common subsequence).
func lineOps(a, b []string) []op {
	n, m := len(a), len(b)
	if n*m > maxCells {
		var ops []op
		for _, l := range a {
			ops = append(ops, op{'-', l})
		}
		for _, l := range b {
			ops = append(ops, op{'+', l})
		}
		return ops
	}
	// lcs[i][j] = LCS length of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, op{'+', b[j]})
			j++
		default:
			ops = append(ops, op{'-', a[i]})
			i++
		}
	}
	return ops
}

// UnifiedDiff renders the change of one file as `diff -u` does; "" when
// nothing changes. A missing side is /dev/null.
func UnifiedDiff(path string, old, new []byte, oldExists, newExists bool) string {
	if oldExists == newExists && string(old) == string(new) {
		return ""
	}
	a, aNoNL := splitLines(string(old))
	b, bNoNL := splitLines(string(new))
	// A line that lost or gained its final newline differs from itself.
	if aNoNL && len(a) > 0 {
		a[len(a)-1] += "\x00"
	}
	if bNoNL && len(b) > 0 {
		b[len(b)-1] += "\x00"
	}
	ops := lineOps(a, b)

	var out strings.Builder
	from, to := path, path
	if !oldExists {
		from = "/dev/null"
	}
	if !newExists {
		to = "/dev/null"
	}
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", from, to)

	// Group changes into hunks with context around them.
	for start := 0; start < len(ops); {
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		lo := max(0, start-contextLines)
		hi := start
		for hi < len(ops) {
			if ops[hi].kind != ' ' {
				hi++
				continue
			}
			// Run of unchanged lines: does another change follow closely?
			k := hi
			for k < len(ops) && ops[k].kind == ' ' {
				k++
			}
			if k == len(ops) || k-hi > 2*contextLines {
				hi = min(len(ops), hi+contextLines)
				break
			}
			hi = k
		}
		// Line numbers of the hunk's first line on each side.
		aLine, bLine := 1, 1
		for _, o := range ops[:lo] {
			if o.kind != '+' {
				aLine++
			}
			if o.kind != '-' {
				bLine++
			}
		}
		aCount, bCount := 0, 0
		for _, o := range ops[lo:hi] {
			if o.kind != '+' {
				aCount++
			}
			if o.kind != '-' {
				bCount++
			}
		}
		if aCount == 0 {
			aLine--
		}
		if bCount == 0 {
			bLine--
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aLine, aCount), hunkRange(bLine, bCount))
		for _, o := range ops[lo:hi] {
			text, noNL := strings.CutSuffix(o.text, "\x00")
			out.WriteByte(o.kind)
			out.WriteString(text)
			out.WriteByte('\n')
			if noNL {
				out.WriteString("\\ No newline at end of file\n")
			}
		}
		start = hi
	}
	return out.String()
}

func hunkRange(line, count int) string {
	if count == 1 {
		return fmt.Sprint(line)
	}
	return fmt.Sprintf("%d,%d", line, count)
}
