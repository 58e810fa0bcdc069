package imagescan

import (
	"archive/tar"
	"bufio"
	stdgzip "compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

// The benchmarks run on a generated image (imagegen.Big) of
// IMAGESCAN_BENCH_MB uncompressed megabytes, 256 unless set. MB/s figures
// are of uncompressed layer bytes, the same count for every benchmark, so
// they compare directly.

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
	bench     struct {
		layout    string   // OCI layout, gzip layers
		gzLayers  []string // its layer blobs
		saveTar   string   // docker save tarball, uncompressed layers (graphdriver daemons)
		tarLayers int64    // uncompressed bytes of all layers
	}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchImage(b *testing.B) {
	b.Helper()
	benchOnce.Do(func() {
		mb := int64(256)
		if v := os.Getenv("IMAGESCAN_BENCH_MB"); v != "" {
			if mb, benchErr = strconv.ParseInt(v, 10, 64); benchErr != nil {
				return
			}
		}
		if benchDir, benchErr = os.MkdirTemp("", "imagescan-bench"); benchErr != nil {
			return
		}
		bench.layout = filepath.Join(benchDir, "layout")
		img := imagegen.Big("bench:latest", mb<<20, imagegen.Gzip, 1)
		if benchErr = imagegen.WriteOCILayout(bench.layout, []imagegen.Image{img}); benchErr != nil {
			return
		}
		var images []Image
		if images, benchErr = ScanPath(context.Background(), bench.layout, 0); benchErr != nil {
			return
		}
		blobs, _ := filepath.Glob(filepath.Join(bench.layout, "blobs", "sha256", "*"))
		for _, p := range blobs {
			if st, err := os.Stat(p); err == nil && st.Size() > 4096 {
				bench.gzLayers = append(bench.gzLayers, p)
			}
		}
		_ = images
		bench.saveTar = filepath.Join(benchDir, "save.tar")
		f, err := os.Create(bench.saveTar)
		if err != nil {
			benchErr = err
			return
		}
		defer f.Close()
		img = imagegen.Big("bench:latest", mb<<20, imagegen.Uncompressed, 1)
		if benchErr = imagegen.WriteDockerSave(f, []imagegen.Image{img}, imagegen.SaveOptions{TempDir: benchDir}); benchErr != nil {
			return
		}
		for _, p := range bench.gzLayers {
			n, err := gunzip(p, true)
			if err != nil {
				benchErr = err
				return
			}
			bench.tarLayers += n
		}
	})
	if benchErr != nil {
		b.Fatalf("generate bench image: %v", benchErr)
	}
	b.SetBytes(bench.tarLayers)
	b.ReportAllocs()
	b.ResetTimer()
}

// gunzip decompresses a blob to nowhere: the floor any gzip scan pays.
func gunzip(p string, klauspost bool) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader
	if klauspost {
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			return 0, err
		}
		r = zr
	} else {
		zr, err := stdgzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			return 0, err
		}
		r = zr
	}
	return io.Copy(io.Discard, r)
}

// tarTV is `gzip -dc | tar -tv --numeric-owner` in process: the standard
// library's gzip and tar, every content byte read, one line per entry.
func tarTV(p string, out io.Writer) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := stdgzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %d/%d %8d %s %s\n", hdr.FileInfo().Mode(), hdr.Uid, hdr.Gid, hdr.Size, hdr.ModTime.Format("2006-01-02 15:04"), hdr.Name)
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return err
		}
	}
}

func BenchmarkGzipLayers(b *testing.B) {
	b.Run("scan", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			for _, p := range bench.gzLayers {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ScanLayer(f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		}
	})
	b.Run("tar-tv-baseline", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			for _, p := range bench.gzLayers {
				if err := tarTV(p, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("gunzip-floor", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			for _, p := range bench.gzLayers {
				if _, err := gunzip(p, true); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("gunzip-stdlib", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			for _, p := range bench.gzLayers {
				if _, err := gunzip(p, false); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkScanPath is check-image on files: the OCI layout (gzip layers
// scanned side by side) and a docker save tarball of uncompressed layers,
// read from the file with seeks over contents or streamed as from the
// daemon.
func BenchmarkScanPath(b *testing.B) {
	b.Run("oci-layout-gzip", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			if _, err := ScanPath(context.Background(), bench.layout, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("save-tar-seek", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			if _, err := ScanPath(context.Background(), bench.saveTar, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("save-tar-stream", func(b *testing.B) {
		benchImage(b)
		for b.Loop() {
			f, err := os.Open(bench.saveTar)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ScanSaveStream(context.Background(), f, SourceDaemon); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}
