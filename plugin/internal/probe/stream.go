package probe

import (
	"encoding/json"
	"errors"
	"io"
)

// firstStreamError reads a stream of JSON messages as the daemon sends them
// for import and load, and returns the text of the first error message.
func firstStreamError(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return "", nil
			}
			return "", err
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return msg.ErrorDetail.Message, nil
		}
		if msg.Error != "" {
			return msg.Error, nil
		}
	}
}

// StreamError drains a daemon progress stream (load, import) and returns
// the first error it reports.
func StreamError(r io.Reader) error { return readJSONStream(r) }
