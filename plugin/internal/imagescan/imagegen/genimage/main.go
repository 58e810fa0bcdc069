// Command genimage writes imagegen.Big, an image of about -mb megabytes
// (many small files, some large, part random, a few files at uid 70000 and
// gid 70001), as a docker save tarball (`docker load -i` takes it) or an OCI
// layout, for benchmarks.
//
//	go run ./plugin/internal/imagescan/imagegen/genimage -mb 1024 -o big.tar
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan/imagegen"
)

func main() {
	mb := flag.Int64("mb", 1024, "uncompressed size of the image in MiB")
	ref := flag.String("ref", "userns-bench:latest", "repo:tag of the image")
	comp := flag.String("compression", "gzip", "layer compression: gzip, zstd or none")
	out := flag.String("o", "", "write a docker save tarball to this file")
	layout := flag.String("layout", "", "write an OCI layout into this directory instead")
	oci := flag.Bool("oci", false, "tarball in the Docker 25+ shape (blobs/sha256, index.json)")
	seed := flag.Uint64("seed", 1, "seed of the generated content")
	flag.Parse()
	if err := run(*mb, *ref, *comp, *out, *layout, *oci, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genimage:", err)
		os.Exit(1)
	}
}

func run(mb int64, ref, comp, out, layout string, oci bool, seed uint64) error {
	c, ok := map[string]imagegen.Compression{"gzip": imagegen.Gzip, "zstd": imagegen.Zstd, "none": imagegen.Uncompressed}[comp]
	if !ok {
		return fmt.Errorf("parse -compression %q: want gzip, zstd or none", comp)
	}
	img := imagegen.Big(ref, mb<<20, c, seed)
	if layout != "" {
		return imagegen.WriteOCILayout(layout, []imagegen.Image{img})
	}
	if out == "" {
		return fmt.Errorf("give -o FILE or -layout DIR")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := imagegen.WriteDockerSave(w, []imagegen.Image{img}, imagegen.SaveOptions{OCI: oci}); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
