// Package dockerdflags finds options given to dockerd outside daemon.json:
// in systemd units and drop-ins, in /etc/default/docker or
// /etc/sysconfig/docker, and on the running daemon's command line. A key set
// both as a flag and in daemon.json stops dockerd from starting, so
// --userns-remap found here is a conflict; --config-file says which
// daemon.json dockerd reads.
package dockerdflags

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Flags this package looks for.
const (
	UsernsRemap = "userns-remap"
	ConfigFile  = "config-file"
)

// Unit directories, highest priority first (systemd's search path).
var unitDirs = []string{
	"/etc/systemd/system",
	"/run/systemd/system",
	"/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/lib/systemd/system",
}

const unitName = "docker.service"

// Environment files read by sysvinit/upstart scripts and by units.
var envFiles = []struct{ path, variable string }{
	{"/etc/default/docker", "DOCKER_OPTS"},
	{"/etc/sysconfig/docker", "OPTIONS"},
}

// PidFiles are where dockerd writes its pid (/var/run is usually a link to /run).
var PidFiles = []string{"/var/run/docker.pid", "/run/docker.pid"}

// Flag is one dockerd option found outside daemon.json.
type Flag struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"` // file, or /proc/PID/cmdline
	Line   int    `json:"line,omitempty"`
}

// Where is "file:line", or the source alone when it has no lines.
func (f Flag) Where() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.Source, f.Line)
	}
	return f.Source
}

// Report is what Scan found.
type Report struct {
	// Unit is the docker.service in effect ("" when there is none).
	Unit string `json:"unit,omitempty"`
	// DropIns are the drop-ins applied, in order.
	DropIns []string `json:"dropIns,omitempty"`
	// ExecStart is the effective ExecStart (Value is the command line).
	ExecStart *Flag `json:"execStart,omitempty"`
	// PID is the running daemon's pid (0 when none was found).
	PID int `json:"pid,omitempty"`
	// UsernsRemap lists every --userns-remap found.
	UsernsRemap []Flag `json:"usernsRemap,omitempty"`
	// ConfigFile lists every --config-file found; the running daemon's first.
	ConfigFile []Flag `json:"configFile,omitempty"`
}

// Conflict returns an error naming the first --userns-remap given to dockerd
// outside daemon.json, or nil.
func (r *Report) Conflict() error {
	if len(r.UsernsRemap) == 0 {
		return nil
	}
	f := r.UsernsRemap[0]
	return fmt.Errorf("%s: dockerd already gets --userns-remap=%s there; dockerd refuses to start with it both as a flag and in daemon.json: remove it there first", f.Where(), f.Value)
}

// DaemonJSONPath is the daemon.json dockerd reads: --config-file of the
// running daemon, else of its unit or options file, else the default.
func (r *Report) DaemonJSONPath() string {
	for _, f := range r.ConfigFile {
		if f.Value != "" {
			return path.Clean("/" + f.Value)
		}
	}
	return daemonconfig.DefaultPath
}

// Scan looks for dockerd flags in every place under root.
func Scan(root hostfs.Root) (*Report, error) {
	r := &Report{}
	if err := r.scanSystemd(root); err != nil {
		return nil, err
	}
	if err := r.scanRunning(root); err != nil {
		return nil, err
	}
	// The running daemon's --config-file is the truth; list it first.
	sort.SliceStable(r.ConfigFile, func(i, j int) bool {
		return strings.HasPrefix(r.ConfigFile[i].Source, "/proc/") && !strings.HasPrefix(r.ConfigFile[j].Source, "/proc/")
	})
	return r, nil
}

// unitLine is a directive with where it came from.
type unitLine struct {
	file  string
	line  int
	key   string
	value string
}

func (r *Report) scanSystemd(root hostfs.Root) error {
	var files []string
	for _, d := range unitDirs {
		p := path.Join(d, unitName)
		if st, err := root.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
			r.Unit = p
			files = append(files, p)
			break
		}
	}
	// Drop-ins: same name in a higher-priority directory masks the lower
	// one; all are applied in file name order.
	seen := map[string]string{}
	for _, d := range unitDirs {
		matches, err := root.Glob(path.Join(d, unitName+".d", "*.conf"))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if _, ok := seen[path.Base(m)]; !ok {
				seen[path.Base(m)] = m
			}
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r.DropIns = append(r.DropIns, seen[n])
		files = append(files, seen[n])
	}
	if len(files) == 0 {
		// No unit: sysvinit or upstart scripts read the options files.
		for _, ef := range envFiles {
			if err := r.scanEnvFile(root, ef.path, map[string]bool{ef.variable: true}); err != nil {
				return err
			}
		}
		return nil
	}

	var execStart *unitLine
	var envs, envFilesUsed []unitLine
	for _, f := range files {
		lines, err := readUnit(root, f)
		if err != nil {
			return err
		}
		for _, l := range lines {
			switch l.key {
			case "ExecStart":
				if l.value == "" {
					execStart = nil // a reset: earlier ExecStart lines no longer count
				} else {
					l := l
					execStart = &l
				}
			case "Environment":
				envs = append(envs, l)
			case "EnvironmentFile":
				envFilesUsed = append(envFilesUsed, l)
			}
		}
	}
	if execStart == nil {
		return nil
	}
	r.ExecStart = &Flag{Name: "ExecStart", Value: execStart.value, Source: execStart.file, Line: execStart.line}
	args, err := splitWords(execStart.value)
	if err != nil {
		return fmt.Errorf("%s:%d: ExecStart: %w", execStart.file, execStart.line, err)
	}
	args[0] = strings.TrimLeft(args[0], "-@+!:|")
	vars := map[string]bool{}
	for _, a := range args {
		for _, v := range referencedVars(a) {
			vars[v] = true
		}
	}
	r.collect(args, execStart.file, execStart.line)
	// Variables the ExecStart expands come from Environment= and EnvironmentFile=.
	for _, e := range envs {
		words, err := splitWords(e.value)
		if err != nil {
			return fmt.Errorf("%s:%d: Environment: %w", e.file, e.line, err)
		}
		for _, w := range words {
			name, value, ok := strings.Cut(w, "=")
			if ok && vars[name] {
				inner, err := splitWords(value)
				if err != nil {
					return fmt.Errorf("%s:%d: Environment %s: %w", e.file, e.line, name, err)
				}
				r.collect(inner, e.file, e.line)
			}
		}
	}
	for _, ef := range envFilesUsed {
		// A leading "-" only makes a missing file fine; missing files are skipped anyway.
		if err := r.scanEnvFile(root, strings.TrimPrefix(ef.value, "-"), vars); err != nil {
			return err
		}
	}
	return nil
}

// readUnit returns the [Service] directives of a unit file, with
// continuation lines joined and comments dropped.
func readUnit(root hostfs.Root, file string) ([]unitLine, error) {
	data, err := root.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []unitLine
	section := ""
	raw := strings.Split(string(data), "\n")
	for i := 0; i < len(raw); i++ {
		start := i + 1
		s := strings.TrimSpace(strings.TrimSuffix(raw[i], "\r"))
		for strings.HasSuffix(s, "\\") && i+1 < len(raw) {
			i++
			next := strings.TrimSpace(strings.TrimSuffix(raw[i], "\r"))
			if strings.HasPrefix(next, "#") || strings.HasPrefix(next, ";") {
				continue // systemd skips comment lines inside a continuation
			}
			s = strings.TrimSuffix(s, "\\") + " " + next
		}
		if s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, ";") {
			continue
		}
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			section = s
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		if !ok || section != "[Service]" {
			continue
		}
		out = append(out, unitLine{file: file, line: start, key: strings.TrimSpace(key), value: strings.TrimSpace(value)})
	}
	return out, nil
}

// scanEnvFile reads NAME=value lines (shell style, as /etc/default/docker
// and systemd EnvironmentFile= use) and looks into the named variables.
func (r *Report) scanEnvFile(root hostfs.Root, file string, vars map[string]bool) error {
	data, err := root.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for i, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		s = strings.TrimPrefix(s, "export ")
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, value, ok := strings.Cut(s, "=")
		if !ok || !vars[strings.TrimSpace(name)] {
			continue
		}
		unquoted, err := splitWords(value)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %w", file, i+1, name, err)
		}
		// The variable holds a whole option string; split it again.
		var args []string
		for _, u := range unquoted {
			words, err := splitWords(u)
			if err != nil {
				return fmt.Errorf("%s:%d: %s: %w", file, i+1, name, err)
			}
			args = append(args, words...)
		}
		r.collect(args, file, i+1)
	}
	return nil
}

// scanRunning reads the running daemon's command line through its pid file.
func (r *Report) scanRunning(root hostfs.Root) error {
	for _, pf := range PidFiles {
		data, err := root.ReadFile(pf)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		src := fmt.Sprintf("/proc/%d/cmdline", pid)
		cmdline, err := root.ReadFile(src)
		if err != nil {
			continue // a stale pid file: no daemon runs
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if base := path.Base(args[0]); base != "dockerd" && !(base == "docker" && len(args) > 1 && args[1] == "daemon") {
			continue
		}
		r.PID = pid
		r.collect(args, src, 0)
		return nil
	}
	return nil
}

// collect records --userns-remap and --config-file in args.
func (r *Report) collect(args []string, source string, line int) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return
		}
		for _, name := range []string{UsernsRemap, ConfigFile} {
			value, found := "", false
			switch {
			case a == "--"+name:
				found = true
				if i+1 < len(args) {
					value = args[i+1]
					i++
				}
			case strings.HasPrefix(a, "--"+name+"="):
				value, found = strings.TrimPrefix(a, "--"+name+"="), true
			}
			if !found {
				continue
			}
			f := Flag{Name: name, Value: value, Source: source, Line: line}
			if name == UsernsRemap {
				r.UsernsRemap = append(r.UsernsRemap, f)
			} else {
				r.ConfigFile = append(r.ConfigFile, f)
			}
		}
	}
}

// referencedVars lists $NAME and ${NAME} in a word.
func referencedVars(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		j := i + 1
		if s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				continue
			}
			out = append(out, s[j+1:j+end])
			i = j + end
			continue
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		if k > j {
			out = append(out, s[j:k])
		}
		i = k - 1
	}
	return out
}

// splitWords splits a command line the way systemd and the shell do for
// simple cases: white space separates, quotes group, backslash escapes.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		words = []string{""}
	}
	return words, nil
}
