// Package imagescan finds the highest uid and gid in an image's layers, the
// ids a remapped daemon must be able to map to extract it. It reads tar
// headers only, skipping file contents, and streams every source (daemon,
// registry, file) so memory stays flat whatever the image size.
package imagescan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression of a layer blob, as detected from its first bytes.
type Compression string

const (
	Uncompressed Compression = "none"
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Bzip2        Compression = "bzip2"
)

// ErrUnsupportedCompression is returned for xz layers (dockerd shells out
// to xz for them; they are rare enough not to carry a decoder for).
var ErrUnsupportedCompression = errors.New("unsupported layer compression")

// maxHolders is how many files are kept per highest id.
const maxHolders = 3

// Entry is a tar entry holding a highest id.
type Entry struct {
	Path string `json:"path"`
	// Layer is the layer's digest (its diff id for a docker save tarball
	// without one), LayerIndex its position from the base (0).
	Layer      string `json:"layer,omitempty"`
	LayerIndex int    `json:"layerIndex"`
	UID        int64  `json:"uid"`
	GID        int64  `json:"gid"`
}

// LayerScan is what one layer holds.
type LayerScan struct {
	Compression Compression
	// Entries counts the entries the daemon chowns on extraction.
	Entries        int64
	MaxUID, MaxGID int64
	// UIDHolders and GIDHolders are the first few entries at MaxUID and
	// at MaxGID (none while the highest id is 0).
	UIDHolders, GIDHolders []Entry
}

// add counts one entry the way dockerd does. On extraction the daemon calls
// remapIDs (idMapping.ToHost, "Container ID %d cannot be mapped to a host
// ID") on every header, before the overlay whiteout conversion and for hard
// links alike, then lchowns the result; it skips only PAX global headers
// and the root "." entry. See moby/go-archive archive.go Unpack (vendored by
// moby/moby; formerly pkg/archive), which the overlay2 driver reaches
// through chrootarchive.UntarUncompressed. The older UnpackLayer path skips
// whiteouts, so counting them is right for overlay2 and safe for the rest.
func (l *LayerScan) add(hdr *tar.Header) {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return
	}
	name := path.Clean(strings.TrimLeft(hdr.Name, "/"))
	if name == "." {
		return
	}
	l.Entries++
	uid, gid := int64(hdr.Uid), int64(hdr.Gid)
	e := Entry{Path: name, UID: uid, GID: gid}
	l.MaxUID, l.UIDHolders = keepHighest(l.MaxUID, l.UIDHolders, uid, e)
	l.MaxGID, l.GIDHolders = keepHighest(l.MaxGID, l.GIDHolders, gid, e)
}

func keepHighest(max int64, holders []Entry, id int64, e Entry) (int64, []Entry) {
	switch {
	case id > max:
		return id, append(holders[:0], e)
	case id == max && id > 0 && len(holders) < maxHolders:
		return max, append(holders, e)
	}
	return max, holders
}

// ScanLayer reads a layer blob (tar, gzip, zstd or bzip2, told apart by
// their magic bytes) from r to its end.
func ScanLayer(r io.Reader) (LayerScan, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return LayerScan{}, fmt.Errorf("read layer: %w", err)
	}
	return scanDecompressed(br, magic)
}

// ScanLayerAt reads a layer blob of size bytes through ra; an uncompressed
// layer is read header by header, seeking over file contents.
func ScanLayerAt(ra io.ReaderAt, size int64) (LayerScan, error) {
	sr := newSeekBuffer(ra, size)
	magic := make([]byte, 6)
	n, err := ra.ReadAt(magic, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return LayerScan{}, fmt.Errorf("read layer: %w", err)
	}
	return scanDecompressed(sr, magic[:n])
}

func detect(magic []byte) Compression {
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(magic, []byte("BZh")):
		return Bzip2
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return "xz"
	}
	return Uncompressed
}

// decompressor wraps r in the decoder for c; closeFn frees it.
func decompressor(r io.Reader, c Compression) (dr io.Reader, closeFn func(), err error) {
	switch c {
	case Uncompressed:
		return r, func() {}, nil
	case Gzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("read gzip layer: %w", err)
		}
		return gz, func() { _ = gz.Close() }, nil
	case Zstd:
		// One goroutine per stream: layers are scanned side by side
		// instead; the window cap bounds memory per layer.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, nil, fmt.Errorf("read zstd layer: %w", err)
		}
		return zr, zr.Close, nil
	case Bzip2:
		return bzip2.NewReader(r), func() {}, nil
	}
	return nil, nil, fmt.Errorf("read layer: %w: %s", ErrUnsupportedCompression, c)
}

func scanDecompressed(r io.Reader, magic []byte) (LayerScan, error) {
	c := detect(magic)
	scan := LayerScan{Compression: c}
	dr, closeFn, err := decompressor(r, c)
	if err != nil {
		return scan, err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return scan, nil
		}
		if err != nil {
			return scan, fmt.Errorf("read %s layer after %d entries: %w", c, scan.Entries, err)
		}
		scan.add(hdr)
	}
}

// seekBuffer reads an io.ReaderAt through a buffer and seeks without
// reading, so archive/tar skips large file contents by Seek while the
// headers and small files between them come from one read.
type seekBuffer struct {
	ra        io.ReaderAt
	size, off int64
	buf       []byte
	bufOff    int64
}

func newSeekBuffer(ra io.ReaderAt, size int64) *seekBuffer {
	return &seekBuffer{ra: ra, size: size, buf: make([]byte, 0, 64<<10)}
}

func (s *seekBuffer) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if s.off < s.bufOff || s.off >= s.bufOff+int64(len(s.buf)) {
		n, err := s.ra.ReadAt(s.buf[:min(int64(cap(s.buf)), s.size-s.off)], s.off)
		s.buf, s.bufOff = s.buf[:n], s.off
		if n == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	n := copy(p, s.buf[s.off-s.bufOff:])
	s.off += int64(n)
	return n, nil
}

func (s *seekBuffer) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	default:
		return s.off, fmt.Errorf("seek: bad whence %d", whence)
	}
	if offset < 0 {
		return s.off, fmt.Errorf("seek: negative offset %d", offset)
	}
	s.off = offset
	return offset, nil
}
