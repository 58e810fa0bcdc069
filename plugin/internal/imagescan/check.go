package imagescan

import (
	"context"
	"fmt"
)

// Row is one image as check-image reports it: the IMAGE argument it came
// from, the scan and the verdict.
type Row struct {
	Ref string `json:"ref"`
	Image
	Verdict
}

// Checked is what one daemon made of the images: a row for each image
// read, and why each image that could not be read could not.
type Checked struct {
	Rows   []Row
	Failed []error
}

// Check scans each of refs from src with s and judges every image it
// holds against mapping (nil: unknown). An image that cannot be read is
// named in Failed; the rest are still checked.
func Check(ctx context.Context, s *Scanner, refs []string, src Source, mapping *Mapping) Checked {
	var c Checked
	for _, ref := range refs {
		images, err := s.Scan(ctx, ref, src)
		if err != nil {
			c.Failed = append(c.Failed, fmt.Errorf("check-image %s: %w", ref, err))
			continue
		}
		for _, img := range images {
			c.Rows = append(c.Rows, Row{Ref: ref, Image: img, Verdict: Judge(img, mapping)})
		}
	}
	return c
}

// Misfits counts the images that do not fit a known mapping.
func (c Checked) Misfits() int {
	n := 0
	for _, row := range c.Rows {
		if row.Known && !row.Fits {
			n++
		}
	}
	return n
}
