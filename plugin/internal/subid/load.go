package subid

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs"
)

// Load reads and parses host file p under root; a missing file is empty,
// as shadow and dockerd treat it.
func Load(root hostfs.Root, p string) (*File, error) {
	data, err := root.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return Parse(p, data)
}
