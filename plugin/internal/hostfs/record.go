package hostfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// ReadJSON decodes the JSON file at p into v. found is false, with no
// error, when there is no such file: the records the plugin keeps on a
// host (the change's state, the host agent's record) are often absent.
func (r Root) ReadJSON(p string, v any) (found bool, err error) {
	data, err := r.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("read %s: %w", p, err)
	}
	return true, nil
}

// WriteJSON writes v to p as indented JSON, atomically, readable by root
// only (a record holds the old contents of files), its directory made as
// needed.
func (r Root) WriteJSON(p string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_, err = r.WriteFile(p, append(data, '\n'), WriteOptions{Perm: 0o600, MakeDirs: true})
	return err
}
