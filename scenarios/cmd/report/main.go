// Command report turns `go test -json` output of the conformance scenarios
// into the conformance report: one line per scenario and Docker version
// with PASS/FAIL and its time, and for each failure the step, what was
// expected and what was seen. It also writes JUnit XML and JSON.
//
//	go test -json ./scenarios | report -junit out/junit.xml -json out/report.json
//
// It exits 1 when a scenario failed, was skipped or did not finish, or the
// run failed outside any scenario; 2 when it cannot read or write.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	junitPath := fs.String("junit", "", "write JUnit XML to this file")
	jsonPath := fs.String("json", "", "write the report as JSON to this file")
	quiet := fs.Bool("quiet", false, "no progress lines (on stderr): the plan, each scenario run as it starts and ends")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "report: unexpected argument %q (the input is stdin)\n", fs.Arg(0))
		return 2
	}
	progress := stderr
	if *quiet {
		progress = nil
	}
	if progress != nil {
		fmt.Fprintln(progress, "report: waiting for go test to build and start the scenarios (the plan comes first)")
	}
	rep, err := Parse(stdin, progress)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	if progress != nil {
		fmt.Fprintln(progress)
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer, *Report) error
	}{{*junitPath, WriteJUnit}, {*jsonPath, WriteJSON}} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, rep, out.write); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 2
		}
	}
	if err := WriteText(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "report: write: %v\n", err)
		return 2
	}
	if *junitPath != "" || *jsonPath != "" {
		fmt.Fprintf(stdout, "\nJUnit XML: %s  JSON: %s\n", orNone(*junitPath), orNone(*jsonPath))
	}
	if !rep.OK {
		return 1
	}
	return 0
}

func writeFile(path string, rep *Report, write func(io.Writer, *Report) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create report file: %w", err)
	}
	if err := write(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func orNone(path string) string {
	if path == "" {
		return "(none)"
	}
	return path
}
