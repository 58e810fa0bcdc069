package hostfstest

import (
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Event is one inotify event on a file of a watched directory.
type Event struct {
	Name string // the file's name in the directory
	Mask uint32 // unix.IN_*
}

// Watch reports, in order, the events of mask (unix.IN_OPEN, IN_DELETE...)
// on the files of dir until the test ends, when the channel closes: a test
// waits for what another process does to a file (Await) instead of
// sleeping.
func Watch(t testing.TB, dir string, mask uint32) <-chan Event {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		t.Fatalf("inotify %s: %v", dir, err)
	}
	f := os.NewFile(uintptr(fd), "inotify "+dir)
	events, done, ended := make(chan Event, 256), make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		close(done)
		f.Close() // ends the read below
		<-ended
	})
	go func() {
		defer close(ended)
		defer close(events)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.PathMax))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := string(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)])
				off += unix.SizeofInotifyEvent + int(ev.Len)
				select {
				case events <- Event{Name: strings.TrimRight(name, "\x00"), Mask: ev.Mask}:
				case <-done:
					return
				}
			}
		}
	}()
	return events
}

// Await takes events until one on name of mask (true), or until limit
// passes or the watch ends (false).
func Await(events <-chan Event, name string, mask uint32, limit time.Duration) bool {
	deadline := time.After(limit)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return false
			}
			if ev.Name == name && ev.Mask&mask != 0 {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
