//go:build !linux

package hostagent

// toSyslog: the agent logs on its Linux host only.
func toSyslog(string) {}
