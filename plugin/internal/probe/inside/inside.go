// Package inside is what a probe container runs: a few actions that
// observe the container's user namespace and file ownership. It depends on
// the standard library only, so that the small probe program built from it
// (cmd/docker-userns-probe) stays a tenth of the plugin's size: its image is
// imported into the daemon on every verification.
package inside

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// IDMaps is what the kernel says about the probe's user namespace.
type IDMaps struct {
	UIDMap string `json:"uidMap"`
	GIDMap string `json:"gidMap"`
}

// Main runs inside a probe container. Actions:
//
//	idmap              print /proc/self/uid_map and gid_map as JSON
//	write PATH [MODE]  create PATH, with octal MODE if given (the owner on
//	                   the host is what remapping made of the container user)
//	read PATH          print PATH; exit 1 with the error when it cannot be read
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "probe: want an action: idmap, write PATH [MODE], read PATH")
		return 2
	}
	var err error
	switch {
	case args[0] == "idmap" && len(args) == 1:
		err = printIDMaps(stdout)
	case args[0] == "write" && len(args) == 2:
		err = os.WriteFile(args[1], []byte("written by a docker-userns probe\n"), 0o644)
	case args[0] == "write" && len(args) == 3:
		err = writeMode(args[1], args[2])
	case args[0] == "read" && len(args) == 2:
		var data []byte
		if data, err = os.ReadFile(args[1]); err == nil {
			_, err = stdout.Write(data)
		}
	default:
		fmt.Fprintf(stderr, "probe: unknown action %q\n", args)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// writeMode creates path with an exact mode (the umask does not apply).
func writeMode(path, mode string) error {
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil || m > 0o7777 {
		return fmt.Errorf("write %s: mode %q: want octal, as 0600", path, mode)
	}
	if err := os.WriteFile(path, []byte("written by a docker-userns probe\n"), os.FileMode(m)&os.ModePerm); err != nil {
		return err
	}
	return os.Chmod(path, os.FileMode(m)&os.ModePerm)
}

func printIDMaps(w io.Writer) error {
	maps, err := ReadIDMaps()
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(maps)
}

// ReadIDMaps reads this process's uid_map and gid_map as the kernel
// prints them.
func ReadIDMaps() (IDMaps, error) {
	uid, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return IDMaps{}, err
	}
	gid, err := os.ReadFile("/proc/self/gid_map")
	if err != nil {
		return IDMaps{}, err
	}
	return IDMaps{UIDMap: string(uid), GIDMap: string(gid)}, nil
}

// DecodeIDMaps reads the output of the idmap action.
func DecodeIDMaps(out string) (IDMaps, error) {
	var maps IDMaps
	if err := json.Unmarshal([]byte(out), &maps); err != nil {
		return IDMaps{}, fmt.Errorf("read probe id maps %q: %w", out, err)
	}
	return maps, nil
}
