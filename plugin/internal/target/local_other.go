//go:build !linux

package target

// DaemonIsLocal is false on a client that is not Linux: its daemon (Docker
// Desktop's, in a virtual machine, or another machine's) never shares this
// machine's files, so every command reaches the host through the daemon.
func DaemonIsLocal(string) bool { return false }
