package probe

import "testing"

// TestContainerRoles: a container's role label (sweep.Labels) says what
// made it: a named helper or a probe.
func TestContainerRoles(t *testing.T) {
	if r := (RunOptions{Name: "docker-userns-helper-x"}).role(); r != "helper" {
		t.Errorf("a named container's role is %q", r)
	}
	if r := (RunOptions{}).role(); r != "probe" {
		t.Errorf("a probe container's role is %q", r)
	}
}
