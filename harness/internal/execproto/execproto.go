// Package execproto is what the harness and its exec agent
// (harness/cmd/exec-agent) say to each other: one JSON line per request on
// the agent's stdin, one per reply on its stdout, matched by ID.
package execproto

// Request is a command to run as User ("" is root), or, when Path is set, a
// file to write with Data and Mode.
type Request struct {
	ID   uint64   `json:"id"`
	User string   `json:"user,omitempty"`
	Cmd  []string `json:"cmd,omitempty"`
	Path string   `json:"path,omitempty"`
	Data []byte   `json:"data,omitempty"`
	Mode uint32   `json:"mode,omitempty"`
}

// Reply answers the Request of the same ID: the command's exit code and
// output, or Err saying why nothing was done.
type Reply struct {
	ID     uint64 `json:"id"`
	Exit   int    `json:"exit"`
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	Err    string `json:"err,omitempty"`
}
