//go:build linux

package carry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/idmap"
	"github.com/docker-userns/docker-userns/plugin/internal/probe/inside"
)

// Main runs inside a carry container. Actions:
//
//	scan DATAROOT VOLUMEDIR...   print a ScanResult as JSON
//	copy UIDFROM GIDFROM UIDTO GIDTO SRC DST [SRC DST...]
//	                             copy each SRC into DST in place of what DST
//	                             held, shifting owners (maps as "0 999 1,
//	                             1 165536 65535"); print a CopyResult per
//	                             pair as JSON
//	owners UIDMAP GIDMAP DIR...  print, per DIR, its first entry whose owner
//	                             the maps do not hold (OutsideMap), as JSON
func Main(args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) >= 2 && args[0] == "scan":
		err = mainScan(args[1], args[2:], stdout)
	case len(args) >= 5 && args[0] == "copy":
		err = mainCopy(args[1:], stdout)
	case len(args) >= 4 && args[0] == "owners":
		err = mainOwners(args[1:], stdout)
	default:
		err = fmt.Errorf("carry: unknown action %q", args)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func mainScan(dataRoot string, dirs []string, stdout io.Writer) error {
	var res ScanResult
	maps, err := inside.ReadIDMaps()
	if err != nil {
		return err
	}
	res.UIDMap, res.GIDMap = maps.UIDMap, maps.GIDMap
	var st unix.Statfs_t
	if err := unix.Statfs(dataRoot, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dataRoot, err)
	}
	res.FreeRoot = int64(st.Bavail) * int64(st.Bsize)
	overflowUID, overflowGID := overflowID("uid"), overflowID("gid")
	for _, d := range dirs {
		s, err := ScanDir(d, overflowUID, overflowGID)
		if err != nil {
			return err
		}
		res.Volumes = append(res.Volumes, s)
	}
	return json.NewEncoder(stdout).Encode(res)
}

// overflowID is the kernel's overflow uid or gid (/proc/sys/kernel/
// overflowuid, overflowgid); -1 when it cannot be read.
func overflowID(kind string) int64 {
	raw, err := os.ReadFile("/proc/sys/kernel/overflow" + kind)
	if err != nil {
		return -1
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// ScanDir walks dir (not following links) for its files, bytes and
// highest ids, and the first entry owned by the overflow uid or gid.
func ScanDir(dir string, overflowUID, overflowGID int64) (VolumeScan, error) {
	s := VolumeScan{MaxUID: -1, MaxGID: -1}
	err := walkOwned(dir, func(_, rel string, info fs.FileInfo, st *syscall.Stat_t) error {
		s.Files++
		if info.Mode().IsRegular() {
			s.Bytes += info.Size()
		}
		if int64(st.Uid) > s.MaxUID {
			s.MaxUID, s.UIDHolder = int64(st.Uid), rel
		}
		if int64(st.Gid) > s.MaxGID {
			s.MaxGID, s.GIDHolder = int64(st.Gid), rel
		}
		if s.Overflow == "" && (int64(st.Uid) == overflowUID || int64(st.Gid) == overflowGID) {
			s.Overflow = rel
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("scan %s: %w", dir, err)
	}
	return s, nil
}

// walkOwned walks dir, not following links, giving fn each entry's path,
// its path under dir ("/" for dir itself, "/a/b" below it), its info and
// its owner.
func walkOwned(dir string, fn func(p, rel string, info fs.FileInfo, st *syscall.Stat_t) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(p, "/"+strings.TrimPrefix(strings.TrimPrefix(p, dir), "/"), info, info.Sys().(*syscall.Stat_t))
	})
}

// parseMaps reads the maps of a command line, each as Map.String writes
// it ("0 999 1, 1 165536 65535").
func parseMaps(args []string) ([]idmap.Map, error) {
	var maps []idmap.Map
	for _, a := range args {
		m, err := idmap.Parse(strings.ReplaceAll(a, ",", "\n"))
		if err != nil {
			return nil, err
		}
		maps = append(maps, m)
	}
	return maps, nil
}

func mainOwners(args []string, stdout io.Writer) error {
	maps, err := parseMaps(args[:2])
	if err != nil {
		return err
	}
	var found []string
	for _, dir := range args[2:] {
		f, err := OutsideMap(dir, maps[0], maps[1])
		if err != nil {
			return err
		}
		found = append(found, f)
	}
	return json.NewEncoder(stdout).Encode(found)
}

// OutsideMap is the first entry of dir (not following links) whose owner,
// read as a host id, uidMap or gidMap does not hold, as "/path: host owner
// UID:GID"; "" when every owner is in the maps.
func OutsideMap(dir string, uidMap, gidMap idmap.Map) (string, error) {
	found := ""
	err := walkOwned(dir, func(_, rel string, _ fs.FileInfo, st *syscall.Stat_t) error {
		_, okU := uidMap.ToContainer(st.Uid)
		_, okG := gidMap.ToContainer(st.Gid)
		if !okU || !okG {
			found = fmt.Sprintf("%s: host owner %d:%d", rel, st.Uid, st.Gid)
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read the owners of %s: %w", dir, err)
	}
	return found, nil
}

func mainCopy(args []string, stdout io.Writer) error {
	maps, err := parseMaps(args[:4])
	if err != nil {
		return err
	}
	sh := Shift{FromUID: maps[0], FromGID: maps[1], ToUID: maps[2], ToGID: maps[3]}
	pairs := args[4:]
	if len(pairs)%2 != 0 {
		return fmt.Errorf("carry copy: want SRC DST pairs, got %q", pairs)
	}
	var results []CopyResult
	for i := 0; i < len(pairs); i += 2 {
		var r CopyResult
		n, err := CopyTree(pairs[i], pairs[i+1], sh)
		r.Files, r.Bytes = n.Files, n.Bytes
		if err != nil {
			r.Error = err.Error()
		}
		results = append(results, r)
	}
	return json.NewEncoder(stdout).Encode(results)
}

// CopyTree copies src in place of the existing directory dst (a volume's
// _data in the new root, which an earlier switch may have filled): every
// entry with its mode, times and owners shifted by sh (regular files,
// directories, symlinks, hard links, fifos and device nodes; sockets are
// skipped). It copies beside dst, into dst's parent, and swaps the copy in
// only once complete: a copy that fails (an id sh cannot shift, which it
// names, a full disk) or is killed leaves dst as it was (issue 23 case 9),
// and at most a staging directory beside it that the next copy clears.
func CopyTree(src, dst string, sh Shift) (VolumeScan, error) {
	staged, replaced := dst+stagedSuffix, dst+replacedSuffix
	for _, stale := range []string{staged, replaced} {
		if err := os.RemoveAll(stale); err != nil {
			return VolumeScan{}, err
		}
	}
	if err := os.Mkdir(staged, 0o700); err != nil {
		return VolumeScan{}, err
	}
	n, err := copyInto(src, staged, sh)
	if err == nil {
		err = swapIn(staged, dst, replaced)
	}
	if err != nil {
		return n, errors.Join(err, os.RemoveAll(staged))
	}
	return n, os.RemoveAll(replaced)
}

// Beside a volume's _data while a copy runs: the copy, and the old
// content between the two renames of the swap.
const (
	stagedSuffix   = ".docker-userns-carrying"
	replacedSuffix = ".docker-userns-replaced"
)

// swapIn puts staged at dst's path, moving dst aside to replaced first;
// when the second rename fails, dst goes back.
func swapIn(staged, dst, replaced string) error {
	if err := os.Rename(dst, replaced); err != nil {
		return err
	}
	if err := os.Rename(staged, dst); err != nil {
		return errors.Join(err, os.Rename(replaced, dst))
	}
	return nil
}

// copyInto copies src into the empty directory dst (CopyTree).
func copyInto(src, dst string, sh Shift) (VolumeScan, error) {
	var n VolumeScan
	type dirMeta struct {
		path string
		st   *syscall.Stat_t
	}
	var dirs []dirMeta // times and modes of directories are set last
	links := map[[2]uint64]string{}
	err := walkOwned(src, func(p, rel string, info fs.FileInfo, st *syscall.Stat_t) error {
		target := filepath.Join(dst, rel)
		uid, okU := sh.uid(st.Uid)
		gid, okG := sh.gid(st.Gid)
		if !okU || !okG {
			return fmt.Errorf("%s: owner %d:%d cannot be carried: the new map does not hold it", rel, st.Uid, st.Gid)
		}
		n.Files++
		mode := info.Mode()
		switch {
		case mode.IsDir():
			if rel != "/" {
				if err := os.Mkdir(target, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, dirMeta{target, st})
		case mode&fs.ModeSymlink != 0:
			dest, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(dest, target); err != nil {
				return err
			}
			if err := os.Lchown(target, int(uid), int(gid)); err != nil {
				return err
			}
			return unix.Lutimes(target, []unix.Timeval{unix.NsecToTimeval(st.Atim.Nano()), unix.NsecToTimeval(st.Mtim.Nano())})
		case mode&fs.ModeSocket != 0:
			n.Files--
			return nil
		default:
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[key]; ok && st.Nlink > 1 {
				return os.Link(first, target)
			}
			if mode.IsRegular() {
				written, err := copyFile(p, target)
				if err != nil {
					return err
				}
				n.Bytes += written
			} else if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("mknod %s: %w", target, err)
			}
			if st.Nlink > 1 {
				links[key] = target
			}
		}
		return setMeta(target, st, uid, gid)
	})
	if err != nil {
		return n, err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		uid, _ := sh.uid(dirs[i].st.Uid)
		gid, _ := sh.gid(dirs[i].st.Gid)
		if err := setMeta(dirs[i].path, dirs[i].st, uid, gid); err != nil {
			return n, err
		}
	}
	return n, nil
}

// setMeta gives path its owner, then its mode (chown clears set-id bits),
// then its times.
func setMeta(path string, st *syscall.Stat_t, uid, gid uint32) error {
	if err := os.Lchown(path, int(uid), int(gid)); err != nil {
		return err
	}
	if err := unix.Chmod(path, st.Mode&0o7777); err != nil {
		return err
	}
	return unix.UtimesNano(path, []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())})
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	return n, errors.Join(err, out.Close())
}
