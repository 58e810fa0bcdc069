// Package mapsize learns how many container ids a daemon maps, from the
// host's /etc/subuid and /etc/subgid (looked up under a root directory), to
// judge images against. It reads; it never writes.
package mapsize

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-userns/docker-userns/plugin/internal/imagescan"
)

// ErrUnknown means the mapping in force could not be learned.
var ErrUnknown = errors.New("unknown mapping; pass --size")

// ForUser sums the subordinate ranges of spec (USER[:GROUP], numeric or by
// name, or "default" for dockremap) as dockerd would: every subuid line of
// the user, every subgid line of the group. Without GROUP dockerd takes the
// group of the user's name.
func ForUser(root, spec string) (imagescan.Mapping, error) {
	user, group, _ := strings.Cut(spec, ":")
	if user == "default" {
		user, group = "dockremap", "dockremap"
	}
	if group == "" {
		group = user
	}
	uids, err := rangeTotal(root, "/etc/subuid", "/etc/passwd", user)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	gids, err := rangeTotal(root, "/etc/subgid", "/etc/group", group)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	if uids == 0 || gids == 0 {
		return imagescan.Mapping{}, fmt.Errorf("read ranges of %s: none in /etc/subuid or /etc/subgid under %s", spec, root)
	}
	return imagescan.Mapping{Remapped: true, UIDs: uids, GIDs: gids, From: "/etc/subuid and /etc/subgid for " + spec}, nil
}

// ForDaemon learns the mapping a running daemon uses from what `docker
// info` says (SecurityOptions has name=userns only when remapping is on,
// and the data root ends in "<uid>.<gid>", the host ids of container root)
// and the host files under root: the ranges that start at container root's
// ids are the remap user's, since dockerd maps container id 0 to the lowest
// range.
func ForDaemon(securityOptions []string, dockerRootDir, root string) (imagescan.Mapping, error) {
	if !slices.ContainsFunc(securityOptions, func(o string) bool {
		return slices.Contains(strings.Split(o, ","), "name=userns")
	}) {
		return imagescan.Mapping{Remapped: false, From: "docker info"}, nil
	}
	u, g, ok := strings.Cut(path.Base(dockerRootDir), ".")
	if !ok {
		return imagescan.Mapping{}, fmt.Errorf("%w (data root %s is not named uid.gid)", ErrUnknown, dockerRootDir)
	}
	user, err := ownerStartingAt(root, "/etc/subuid", u)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	group, err := ownerStartingAt(root, "/etc/subgid", g)
	if err != nil {
		return imagescan.Mapping{}, err
	}
	m, err := ForUser(root, user+":"+group)
	if err != nil {
		return imagescan.Mapping{}, fmt.Errorf("%w (%v)", ErrUnknown, err)
	}
	return m, nil
}

type subRange struct {
	owner       string
	start, size uint64
}

func readRanges(root, file string) ([]subRange, error) {
	p := filepath.Join(root, file)
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	var out []subRange
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 || parts[0] == "" {
			return nil, fmt.Errorf("parse %s:%d: want NAME:START:COUNT, got %q", p, n, line)
		}
		start, err1 := strconv.ParseUint(parts[1], 10, 32)
		size, err2 := strconv.ParseUint(parts[2], 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("parse %s:%d: %w", p, n, err)
		}
		out = append(out, subRange{owner: parts[0], start: start, size: size})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return out, nil
}

// names returns the name and numeric id of who (a name or a number) as
// listed in a passwd or group file; a subuid line may use either.
func names(root, db, who string) []string {
	out := []string{who}
	f, err := os.Open(filepath.Join(root, db))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) < 3 {
			continue
		}
		if parts[0] == who || parts[2] == who {
			return []string{parts[0], parts[2]}
		}
	}
	return out
}

func rangeTotal(root, file, db, who string) (uint64, error) {
	ranges, err := readRanges(root, file)
	if err != nil {
		return 0, err
	}
	ids := names(root, db, who)
	var total uint64
	for _, r := range ranges {
		if slices.Contains(ids, r.owner) {
			total += r.size
		}
	}
	return total, nil
}

func ownerStartingAt(root, file, start string) (string, error) {
	ranges, err := readRanges(root, file)
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrUnknown, err)
	}
	for _, r := range ranges {
		if strconv.FormatUint(r.start, 10) == start {
			return r.owner, nil
		}
	}
	return "", fmt.Errorf("%w (no range in %s starts at %s, container root's host id)", ErrUnknown, filepath.Join(root, file), start)
}
