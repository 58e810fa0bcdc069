package imagegen

import (
	"archive/tar"
	"fmt"
	"math/rand/v2"
)

// HighUID and HighGID are the owners of the few high-id files in Big.
const (
	HighUID = 70000
	HighGID = 70001
)

// Big describes an image of about total bytes (uncompressed) shaped like a
// real one: a layer of many small files (mostly text), a layer of some large
// files (half random, half text), and a small top layer with a few files at
// HighUID/HighGID, one of them a whiteout. Layers are gzip unless c says
// otherwise. The same seed gives the same image.
func Big(ref string, total int64, c Compression, seed uint64) Image {
	small := total * 2 / 5
	large := total - small
	return Image{Ref: ref, Layers: []Layer{
		{Compression: c, Gen: smallFiles(small, seed)},
		{Compression: c, Gen: largeFiles(large, seed)},
		{Compression: c, Files: []File{
			{Name: "opt/app/", Type: tar.TypeDir, UID: HighUID, GID: HighGID},
			{Name: "opt/app/data.bin", UID: HighUID, GID: HighGID, Size: 4096, Content: Random},
			{Name: "opt/app/.wh.old", UID: HighUID, GID: 0},
			{Name: "var/lib/other", UID: 1000, GID: HighGID, Size: 100},
		}},
	}}
}

// smallFiles yields files of 0 to 16 KiB, text with one in ten random,
// 256 to a directory, until about total bytes.
func smallFiles(total int64, seed uint64) func(yield func(File) error) error {
	return func(yield func(File) error) error {
		rng := rand.New(rand.NewPCG(seed, 1))
		var n int64
		for i := 0; n < total; i++ {
			if i%256 == 0 {
				if err := yield(File{Name: fmt.Sprintf("usr/share/d%05d/", i/256), Type: tar.TypeDir}); err != nil {
					return err
				}
			}
			f := File{Name: fmt.Sprintf("usr/share/d%05d/f%07d", i/256, i), Size: rng.Int64N(16 << 10)}
			if rng.IntN(10) == 0 {
				f.Content = Random
			}
			if err := yield(f); err != nil {
				return err
			}
			n += f.Size + 512
		}
		return nil
	}
}

// largeFiles yields files of 8 to 64 MiB, alternately random and text.
func largeFiles(total int64, seed uint64) func(yield func(File) error) error {
	return func(yield func(File) error) error {
		rng := rand.New(rand.NewPCG(seed, 2))
		if err := yield(File{Name: "srv/", Type: tar.TypeDir}); err != nil {
			return err
		}
		for i, left := 0, total; left > 0; i++ {
			size := min(left, 8<<20+rng.Int64N(56<<20))
			f := File{Name: fmt.Sprintf("srv/blob%03d", i), Size: size, Content: Content(i % 2)}
			if err := yield(f); err != nil {
				return err
			}
			left -= size
		}
		return nil
	}
}
