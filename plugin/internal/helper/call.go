package helper

import (
	"maps"
	"slices"
)

// Flag is one flag as the user gave it: a plain flag has one value, a list
// flag one value per element (none when the list is empty).
type Flag struct {
	Name   string
	Values []string
}

// Call is a plugin command to run again in a helper container on the
// daemon's host: the subcommand, the flags the user gave (in the order
// given to Call), and the arguments.
type Call struct {
	Command string
	Flags   []Flag
	Args    []string
}

// Argv is the call's command line with the overrides replacing their
// flags: an override with a value is added after the given flags (in name
// order), an empty one only drops its flag. The arguments come after "--".
func (c Call) Argv(overrides map[string]string) []string {
	out := []string{c.Command}
	for _, f := range c.Flags {
		if _, over := overrides[f.Name]; over {
			continue
		}
		for _, v := range f.Values {
			out = append(out, "--"+f.Name+"="+v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		if overrides[name] != "" {
			out = append(out, "--"+name+"="+overrides[name])
		}
	}
	return append(append(out, "--"), c.Args...)
}
