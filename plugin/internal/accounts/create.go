package accounts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// ErrNoTool is returned when the platform has no tool to create users.
var ErrNoTool = errors.New("no useradd or adduser found")

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
	return createSystemUser(ctx, root, name, group, exec.LookPath)
}

// createSystemUser is CreateSystemUser finding the tools with lookPath
// (tests take a tool away).
func createSystemUser(ctx context.Context, root hostfs.Root, name, group string, lookPath func(string) (string, error)) (User, error) {
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
			if err := prefixStaysInside(root); err != nil {
				return User{}, fmt.Errorf("create user %s: %w", name, err)
			}
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

// prefixFiles are what useradd and groupadd --prefix DIR open, as
// DIR/<path> (shadow's prefix_flag: the prefix is put before the path and
// the result opened as this machine would, links followed out of DIR).
var prefixFiles = []string{"/etc", PasswdPath, GroupPath, "/etc/shadow", "/etc/gshadow", "/etc/login.defs", "/etc/subuid", "/etc/subgid"}

// prefixStaysInside refuses a root where useradd --prefix would edit other
// files than the ones the plugin reads inside it: a link on the way (DIR/etc
// as an absolute link, or one that climbs out with "..") that this machine
// follows out of the root while the root's own view keeps it inside.
func prefixStaysInside(root hostfs.Root) error {
	base, err := filepath.EvalSymlinks(root.Dir())
	if err != nil {
		return err
	}
	for _, p := range prefixFiles {
		inside, err := root.Resolve(p)
		if err != nil {
			return err
		}
		want := filepath.Join(base, inside)
		got, err := resolveNative(root.Path(p))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("useradd --prefix %s would edit %s for %s, while the host sees %s there: refusing to change files outside the root (make the link relative inside the root, or create the user in the tree yourself)",
				root.Dir(), got, p, want)
		}
	}
	return nil
}

// resolveNative is where this machine resolves real path p: its links
// followed as the kernel does, a missing last element kept as named.
func resolveNative(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	dir, err := resolveNative(filepath.Dir(p))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(p)), nil
}
