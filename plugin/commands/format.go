package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/templates"
	"github.com/spf13/pflag"
)

// formatFlagUsage is the --format help, worded as docker's own commands word it.
const formatFlagUsage = `Format output using a custom template:
'table':            Print output in table format (default)
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`

func addFormatFlag(flags *pflag.FlagSet, format *string) {
	flags.StringVar(format, "format", "", formatFlagUsage)
}

// writeFormatted prints value as a table (the default, drawn by table), as
// indented JSON, or through a Go template with docker's template functions.
func writeFormatted(out io.Writer, format string, value any, table func(io.Writer) error) error {
	// The same keys as docker/cli's formatter package, which this does not
	// import: it drags in containerd's platform code for nothing.
	switch {
	case format == "" || strings.HasPrefix(format, "table"):
		return table(out)
	case format == "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(value)
	default:
		tmpl, err := templates.Parse(format)
		if err != nil {
			return fmt.Errorf("parse --format template: %w", err)
		}
		if err := tmpl.Execute(out, value); err != nil {
			return fmt.Errorf("execute --format template: %w", err)
		}
		_, err = fmt.Fprintln(out)
		return err
	}
}
