// Package imagegen writes image layers and whole images (docker save tarballs,
// OCI layouts) with chosen owners, for the scanner's tests and benchmarks.
// Everything is streamed: a layer of any size is written without holding its
// content in memory, and the result loads into a real daemon.
package imagegen

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression of a layer blob.
type Compression int

const (
	Uncompressed Compression = iota
	Gzip
	Zstd
)

// Content says how a file's bytes look.
type Content int

const (
	// Text compresses well (repeated lines with a counter in them).
	Text Content = iota
	// Random does not compress.
	Random
)

// File is one tar entry. Type defaults to a regular file; Format chooses the
// header format (PAX, GNU) when the ids need it or a test wants it.
type File struct {
	Name     string
	Type     byte
	Linkname string
	UID, GID int
	Mode     int64
	Size     int64
	Content  Content
	Format   tar.Format
}

// Blob is a written layer: its digest (of the bytes as written), its diff id
// (digest of the uncompressed tar) and its size.
type Blob struct {
	Digest      string
	DiffID      string
	Size        int64
	Compression Compression
}

// MediaType is the OCI media type of the blob.
func (b Blob) MediaType() string {
	switch b.Compression {
	case Gzip:
		return "application/vnd.oci.image.layer.v1.tar+gzip"
	case Zstd:
		return "application/vnd.oci.image.layer.v1.tar+zstd"
	}
	return "application/vnd.oci.image.layer.v1.tar"
}

// epoch keeps generated layers byte-for-byte reproducible.
var epoch = time.Unix(1700000000, 0)

// WriteLayer writes files as a tar compressed with c to w.
func WriteLayer(w io.Writer, files []File, c Compression) (Blob, error) {
	return writeLayer(w, func(yield func(File) error) error {
		for _, f := range files {
			if err := yield(f); err != nil {
				return err
			}
		}
		return nil
	}, c)
}

// writeLayer takes the files from an iterator so a generator can produce a
// layer of any size without a list of its files.
func writeLayer(w io.Writer, files func(yield func(File) error) error, c Compression) (Blob, error) {
	blob := Blob{Compression: c}
	outer := newDigester(w)
	var (
		zw    io.Writer = outer
		close           = func() error { return nil }
	)
	switch c {
	case Gzip:
		gz, err := gzip.NewWriterLevel(outer, gzip.BestSpeed)
		if err != nil {
			return blob, err
		}
		zw, close = gz, gz.Close
	case Zstd:
		zs, err := zstd.NewWriter(outer, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return blob, err
		}
		zw, close = zs, zs.Close
	}
	inner := newDigester(zw)
	tw := tar.NewWriter(inner)
	var buf []byte
	var n int
	err := files(func(f File) error {
		n++
		hdr := &tar.Header{
			Name:     f.Name,
			Typeflag: f.Type,
			Linkname: f.Linkname,
			Uid:      f.UID,
			Gid:      f.GID,
			Mode:     f.Mode,
			ModTime:  epoch,
			Format:   f.Format,
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = f.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write header %s: %w", f.Name, err)
		}
		if hdr.Size == 0 {
			return nil
		}
		var err error
		buf, err = writeContent(tw, buf, f, n)
		return err
	})
	if err != nil {
		return blob, err
	}
	if err := tw.Close(); err != nil {
		return blob, err
	}
	if err := close(); err != nil {
		return blob, err
	}
	blob.DiffID = inner.digest()
	blob.Digest = outer.digest()
	blob.Size = outer.n
	return blob, nil
}

// writeContent writes f.Size bytes in chunks through one reused buffer.
func writeContent(w io.Writer, buf []byte, f File, seq int) ([]byte, error) {
	const chunk = 64 << 10
	if cap(buf) < chunk {
		buf = make([]byte, chunk)
	}
	buf = buf[:chunk]
	var rng *rand.ChaCha8
	if f.Content == Random {
		var seed [32]byte
		copy(seed[:], f.Name)
		seed[31] = byte(seq)
		rng = rand.NewChaCha8(seed)
	} else {
		fillText(buf, seq)
	}
	for left := f.Size; left > 0; {
		n := min(left, int64(len(buf)))
		if rng != nil {
			_, _ = rng.Read(buf[:n])
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return buf, fmt.Errorf("write %s: %w", f.Name, err)
		}
		left -= n
	}
	return buf, nil
}

// fillText fills buf with numbered lines, which gzip shrinks about tenfold.
func fillText(buf []byte, seq int) {
	var line []byte
	for i := 0; len(line) < len(buf); i++ {
		line = fmt.Appendf(line, "%08d file %d: the quick brown fox jumps over the lazy dog\n", i, seq)
	}
	copy(buf, line)
}

// digester counts and hashes what passes through to w.
type digester struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newDigester(w io.Writer) *digester { return &digester{w: w, h: sha256.New()} }

func (d *digester) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

func (d *digester) digest() string { return "sha256:" + hex.EncodeToString(d.h.Sum(nil)) }
