package hostfs

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/docker-userns/docker-userns/plugin/internal/hostfs/hostfstest"
)

// posixACL is a system.posix_acl_access value: owner rw, user 1000 r,
// group r, mask r, other r.
func posixACL() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(2))
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{1, 6, ^uint32(0)}, {2, 4, 1000}, {4, 4, ^uint32(0)}, {0x10, 4, ^uint32(0)}, {0x20, 4, ^uint32(0)}} {
		binary.Write(&b, binary.LittleEndian, e)
	}
	return b.Bytes()
}

// TestWriteFileKeepsXattrsAndACL (issue 12, case 14): the file written in
// place of the old one keeps its extended attributes, ACLs among them.
func TestWriteFileKeepsXattrsAndACL(t *testing.T) {
	dir := hostfstest.Tree(t, map[string]string{"/etc/subuid": "old\n"})
	real := filepath.Join(dir, "etc/subuid")
	want := map[string][]byte{"user.note": []byte("managed by hand"), "system.posix_acl_access": posixACL()}
	for name, value := range want {
		if err := unix.Setxattr(real, name, value, 0); err != nil {
			t.Fatalf("set %s: %v (the test needs a file system with xattrs and ACLs)", name, err)
		}
	}
	r, _ := Open(dir)
	if _, err := r.WriteFile("/etc/subuid", []byte("new\n"), WriteOptions{Backup: true, Lock: true}); err != nil {
		t.Fatal(err)
	}
	for name, value := range want {
		buf := make([]byte, 256)
		n, err := unix.Getxattr(real, name, buf)
		if err != nil || !bytes.Equal(buf[:n], value) {
			t.Errorf("%s after the write: %q %v, want %q", name, buf[:max(n, 0)], err, value)
		}
	}
}
