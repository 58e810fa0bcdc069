package accounts

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// ErrNoTool is returned when the platform has no tool to create users.
var ErrNoTool = errors.New("no useradd or adduser found")

// lookPath is exec.LookPath; tests replace it to take a tool away.
var lookPath = exec.LookPath

// ValidName reports why name cannot be a user or group name ("" if it can):
// no colon, white space or comma, not all digits (it would read as an id).
func ValidName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.ContainsAny(name, ":,\n\t\r /\\"):
		return "name holds ':', ',', '/', '\\' or white space"
	case strings.TrimLeft(name, "0123456789") == "":
		return "name is all digits"
	case strings.HasPrefix(name, "-"):
		return "name starts with '-'"
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "name holds control characters or invalid UTF-8"
	}
	return ""
}

// CreateSystemUser creates the system user name with the platform's tools
// (shadow's useradd/groupadd, busybox's adduser/addgroup), with no home and
// no login shell. Its group is group, or a group of its own name when group
// is empty; a missing group is created as a system group. Under a root other
// than "/" the tools run with --prefix, editing the root's files.
func CreateSystemUser(ctx context.Context, root hostfs.Root, name, group string) (User, error) {
	if why := ValidName(name); why != "" {
		return User{}, fmt.Errorf("create user %q: %s", name, why)
	}
	if group == "" {
		group = name
	}
	if why := ValidName(group); why != "" {
		return User{}, fmt.Errorf("create user %s: group %q: %s", name, group, why)
	}
	db, err := Load(root)
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, err)
	}
	if u, ok := db.UserByName(name); ok {
		return u, nil
	}
	_, groupExists := db.GroupByName(group)
	shell := "/usr/sbin/nologin"
	for _, s := range []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/false"} {
		if root.Exists(s) {
			shell = s
			break
		}
	}

	var cmds [][]string
	if useradd, err := lookPath("useradd"); err == nil {
		var prefix []string
		if !root.IsHost() {
			prefix = []string{"--prefix", root.Dir()}
		}
		args := append([]string{useradd}, prefix...)
		args = append(args, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", shell)
		switch {
		case group == name && !groupExists:
			args = append(args, "--user-group")
		case groupExists:
			args = append(args, "--gid", group)
		default:
			groupadd, err := lookPath("groupadd")
			if err != nil {
				return User{}, fmt.Errorf("create group %s: %w", group, ErrNoTool)
			}
			cmds = append(cmds, append(append([]string{groupadd}, prefix...), "--system", group))
			args = append(args, "--gid", group)
		}
		cmds = append(cmds, append(args, name))
	} else if adduser, err := lookPath("adduser"); err == nil && root.IsHost() {
		// busybox (Alpine): no prefix support, so only on the real host.
		if !groupExists {
			addgroup, err := lookPath("addgroup")
			if err != nil {
				return User{}, fmt.Errorf("create group %s: %w", group, ErrNoTool)
			}
			cmds = append(cmds, []string{addgroup, "-S", group})
		}
		cmds = append(cmds, []string{adduser, "-S", "-D", "-H", "-h", "/nonexistent", "-s", shell, "-G", group, name})
	} else {
		return User{}, fmt.Errorf("create user %s: %w", name, ErrNoTool)
	}

	for _, c := range cmds {
		out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput()
		if err != nil {
			msg := strings.Join(strings.Fields(string(out)), " ")
			return User{}, fmt.Errorf("create user %s: %s: %v: %s", name, strings.Join(c, " "), err, msg)
		}
	}
	db, err = Load(root)
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, err)
	}
	u, ok := db.UserByName(name)
	if !ok {
		return User{}, fmt.Errorf("create user %s: %s reported success but %s has no entry", name, cmds[len(cmds)-1][0], PasswdPath)
	}
	return u, nil
}
