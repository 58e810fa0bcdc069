package probe

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// firstStreamError reads a stream of JSON messages as the daemon sends them
// for import and load, and returns the text of the first error message and
// the last status that is an image ID: an import's last message (moby's
// postImagesCreate writes FormatStatus("", id) once ImportImage returns,
// api/server/router/image/image_routes.go at v26.1.5 and v28.5.2;
// daemon/images/image_import.go's ImportImage at v20.10.24).
func firstStreamError(r io.Reader) (msgText, imageID string, err error) {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Status      string `json:"status"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return "", imageID, nil
			}
			return "", imageID, err
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return msg.ErrorDetail.Message, imageID, nil
		}
		if msg.Error != "" {
			return msg.Error, imageID, nil
		}
		if strings.HasPrefix(msg.Status, "sha256:") {
			imageID = msg.Status
		}
	}
}

// StreamError drains a daemon progress stream (load, import) and returns
// the first error it reports.
func StreamError(r io.Reader) error {
	_, err := readJSONStream(r)
	return err
}
