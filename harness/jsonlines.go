package harness

import (
	"encoding/json"
	"fmt"
	"strings"
)

// JSONLines decodes what `docker userns ... --format json` prints, as
// `docker image ls --format json` prints: one JSON object per item, one
// item per line.
func JSONLines[T any](out string) ([]T, error) {
	var items []T
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var it T
		if err := dec.Decode(&it); err != nil {
			return items, fmt.Errorf("line %d of JSON lines: %w", len(items)+1, err)
		}
		items = append(items, it)
	}
	return items, nil
}
