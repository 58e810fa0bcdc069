// Package dockerdflags finds options given to dockerd outside daemon.json:
// in systemd units and drop-ins, in /etc/default/docker or
// /etc/sysconfig/docker, and on the running daemon's command line. A key set
// both as a flag and in daemon.json stops dockerd from starting, so
// --userns-remap found here is a conflict; --config-file says which
// daemon.json dockerd reads and --data-root where its data is.
//
// On a host booted with systemd, systemd itself says which unit file and
// drop-ins are in force (FragmentPath, DropInPaths: also those under /run
// or /usr/lib, or in directories this package would not guess) and the
// ExecStart it will run, also when the files changed since the last
// daemon-reload.
package dockerdflags

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/daemonconfig"
	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Flags this package looks for.
const (
	UsernsRemap = "userns-remap"
	ConfigFile  = "config-file"
	DataRoot    = "data-root"
)

// LiveSource names systemd's own view of the unit as a flag's source.
const LiveSource = "systemd (docker.service ExecStart in force)"

// liveUnit asks the host's systemd about docker.service.
func liveUnit(root string) (*daemon.UnitState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := daemon.Unit{Root: root, Name: unitName}.State(ctx)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

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
	// DataRootFlag lists every --data-root (or the old --graph/-g) found;
	// the running daemon's first.
	DataRootFlag []Flag `json:"dataRoot,omitempty"`
	// Live is true when systemd named the unit files (not a guess from
	// the usual directories).
	Live bool `json:"live,omitempty"`
}

// DataRootPath is the data root given to dockerd as a flag ("" when none:
// then daemon.json's "data-root", or /var/lib/docker).
func (r *Report) DataRootPath() string {
	for _, f := range r.DataRootFlag {
		if f.Value != "" {
			return path.Clean("/" + f.Value)
		}
	}
	return ""
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
func Scan(root hostfs.Root) (*Report, error) { return scanWith(root, liveUnit) }

// scanWith is Scan asking systemd about docker.service through live
// (tests answer for systemd).
func scanWith(root hostfs.Root, live func(root string) (*daemon.UnitState, error)) (*Report, error) {
	r := &Report{}
	if err := r.scanSystemd(root, live); err != nil {
		return nil, err
	}
	if err := r.scanRunning(root); err != nil {
		return nil, err
	}
	// The running daemon's flags are the truth; list them first.
	for _, flags := range [][]Flag{r.ConfigFile, r.DataRootFlag} {
		sort.SliceStable(flags, func(i, j int) bool {
			return strings.HasPrefix(flags[i].Source, "/proc/") && !strings.HasPrefix(flags[j].Source, "/proc/")
		})
	}
	return r, nil
}

// unitLine is a directive with where it came from.
type unitLine struct {
	file  string
	line  int
	key   string
	value string
}

func (r *Report) scanSystemd(root hostfs.Root, liveUnit func(root string) (*daemon.UnitState, error)) error {
	var live *daemon.UnitState
	// A tree's systemd is not this machine's: only its unit files count.
	if !root.Tree() && daemon.SystemdBooted(root.Dir()) {
		if st, err := liveUnit(root.Dir()); err == nil && st.Loaded() {
			live = st
		}
	}
	files, err := r.unitFiles(root, live)
	if err != nil {
		return err
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
	if err := r.scanUnitFiles(root, files); err != nil {
		return err
	}
	if live != nil && len(live.ExecStart) > 0 {
		r.collectLive(live.ExecStart)
	}
	return nil
}

// unitFiles are the unit file and its drop-ins in the order systemd
// applies them: as systemd says when it runs (live), else as found in the
// usual directories.
func (r *Report) unitFiles(root hostfs.Root, live *daemon.UnitState) ([]string, error) {
	if live != nil {
		r.Live = true
		var files []string
		if live.FragmentPath != "" {
			r.Unit = live.FragmentPath
			files = append(files, live.FragmentPath)
		}
		r.DropIns = append([]string(nil), live.DropInPaths...)
		return append(files, live.DropInPaths...), nil
	}
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
			return nil, err
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
	return files, nil
}

// scanUnitFiles finds the effective ExecStart in the unit files and the
// flags in it, and in the variables it expands.
func (r *Report) scanUnitFiles(root hostfs.Root, files []string) error {
	var execStart *unitLine
	var envs, envFilesUsed []unitLine
	for _, f := range files {
		lines, err := readUnit(root, f)
		if errors.Is(err, fs.ErrNotExist) && r.Live {
			continue // systemd's view may be older than the files
		}
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

// collectLive records the flags of the ExecStart systemd runs that the unit
// files did not show (they were edited without a daemon-reload, or live in
// a place not read): systemd's view is what the next restart runs.
func (r *Report) collectLive(argv []string) {
	found := &Report{}
	found.collect(argv, LiveSource, 0)
	has := func(flags []Flag, f Flag) bool {
		for _, g := range flags {
			if g.Value == f.Value && !strings.HasPrefix(g.Source, "/proc/") {
				return true
			}
		}
		return false
	}
	for _, f := range found.UsernsRemap {
		if !has(r.UsernsRemap, f) {
			r.UsernsRemap = append(r.UsernsRemap, f)
		}
	}
	for _, f := range found.ConfigFile {
		if !has(r.ConfigFile, f) {
			r.ConfigFile = append(r.ConfigFile, f)
		}
	}
	for _, f := range found.DataRootFlag {
		if !has(r.DataRootFlag, f) {
			r.DataRootFlag = append(r.DataRootFlag, f)
		}
	}
}

// flagNames are the long names collected, with their other spellings:
// --graph and -g are what --data-root was called before Docker 17.05.
var flagNames = []struct {
	name     string
	spelling []string
}{
	{UsernsRemap, []string{"--userns-remap"}},
	{ConfigFile, []string{"--config-file"}},
	{DataRoot, []string{"--data-root", "--graph", "-g"}},
}

// collect records --userns-remap, --config-file and --data-root in args.
func (r *Report) collect(args []string, source string, line int) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return
		}
		for _, fn := range flagNames {
			value, found := "", false
			for _, sp := range fn.spelling {
				switch {
				case found:
				case a == sp:
					found = true
					if i+1 < len(args) {
						value = args[i+1]
						i++
					}
				case strings.HasPrefix(a, sp+"="):
					value, found = strings.TrimPrefix(a, sp+"="), true
				}
			}
			if !found {
				continue
			}
			f := Flag{Name: fn.name, Value: value, Source: source, Line: line}
			switch fn.name {
			case UsernsRemap:
				r.UsernsRemap = append(r.UsernsRemap, f)
			case ConfigFile:
				r.ConfigFile = append(r.ConfigFile, f)
			default:
				r.DataRootFlag = append(r.DataRootFlag, f)
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
