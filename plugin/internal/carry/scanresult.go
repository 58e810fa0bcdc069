package carry

import "github.com/docker-userns/docker-userns/plugin/internal/idmap"

// Command is the hidden first argument that makes the plugin binary scan or
// copy volumes inside a container, instead of acting as a CLI.
const Command = "__carry"

// VolumeScan is what a volume holds, in the ids of the containers of the
// daemon that scanned it.
type VolumeScan struct {
	Files  int64 `json:"files"`
	Bytes  int64 `json:"bytes"`
	MaxUID int64 `json:"maxUID"`
	MaxGID int64 `json:"maxGID"`
	// UIDHolder and GIDHolder are a path (inside the volume) holding MaxUID
	// and MaxGID.
	UIDHolder string `json:"uidHolder,omitempty"`
	GIDHolder string `json:"gidHolder,omitempty"`
	// Overflow is a path owned by the kernel's overflow uid or gid: inside
	// a user namespace an owner outside its map reads as that id (nobody,
	// 65534), as does one really mapped to it. "" when there is none.
	Overflow string `json:"overflow,omitempty"`
}

// ScanResult is the scan container's answer: the daemon's id maps (its own
// /proc/self/uid_map and gid_map), the volumes in the order given, and the
// free bytes of the file system of the daemon's data root.
type ScanResult struct {
	UIDMap   string       `json:"uidMap"`
	GIDMap   string       `json:"gidMap"`
	Volumes  []VolumeScan `json:"volumes"`
	FreeRoot int64        `json:"freeRoot"`
}

// CopyResult is what the copy container did to one volume.
type CopyResult struct {
	Files int64  `json:"files"`
	Bytes int64  `json:"bytes"`
	Error string `json:"error,omitempty"`
}

// Shift turns the host ids of the old data root into those of the new one:
// host id -> container id by the old daemon's map -> host id by the new one.
type Shift struct {
	FromUID, FromGID, ToUID, ToGID idmap.Map
}

// uid and gid shift one id; false when the old map does not hold it or the
// new map cannot.
func (s Shift) uid(host uint32) (uint32, bool) { return shift(s.FromUID, s.ToUID, host) }
func (s Shift) gid(host uint32) (uint32, bool) { return shift(s.FromGID, s.ToGID, host) }

func shift(from, to idmap.Map, host uint32) (uint32, bool) {
	c, ok := from.ToContainer(host)
	if !ok {
		return 0, false
	}
	return to.ToHost(uint64(c))
}
