package change

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-userns/docker-userns/plugin/internal/daemon"
	"github.com/docker-userns/docker-userns/plugin/internal/remap"
	"github.com/docker-userns/docker-userns/plugin/internal/target"
)

// TestCheckRefusesBeforeAnyWork: each value that cannot work is refused by
// Options.Check, which asks no daemon, saves no image and takes no lock.
func TestCheckRefusesBeforeAnyWork(t *testing.T) {
	tree := t.TempDir()
	valid := func(mod func(*Options)) Options {
		o := Options{
			Enable:  &Enable{EnableOptions: remap.EnableOptions{Spec: "agent"}},
			Hosts:   target.Options{Root: "/", Via: target.ViaAuto},
			Restart: Restart{Strategy: daemon.StrategyAuto, Timeout: time.Minute, ConfirmTimeout: time.Minute},
		}
		mod(&o)
		return o
	}
	for _, c := range []struct {
		name string
		opts Options
		want string // "" accepted
	}{
		{"valid", valid(func(*Options) {}), ""},
		{"valid disable", valid(func(o *Options) { o.Enable, o.Disable = nil, &remap.DisableOptions{} }), ""},
		{"neither", valid(func(o *Options) { o.Enable = nil }), "want one of enable and disable"},
		{"restart", valid(func(o *Options) { o.Restart.Strategy = "bogus" }), `invalid --restart "bogus"`},
		{"timeout", valid(func(o *Options) { o.Restart.Timeout = 0 }), "--timeout 0s: must be above 0"},
		{"confirm timeout", valid(func(o *Options) { o.Restart.ConfirmTimeout = -time.Second }), "--confirm-timeout -1s: must be above 0"},
		{"layout", valid(func(o *Options) { o.Enable.Layout = "bogus" }), `layout "bogus": want owner, contiguous or isolated`},
		{"user", valid(func(o *Options) { o.Enable.Spec = "" }), `userns-remap value ""`},
		{"for-image without auto", valid(func(o *Options) { o.Enable.ForImages = []string{"a:1"} }), "--for-image goes with --size auto"},
		{"docker-version on a live host", valid(func(o *Options) { o.Enable.DockerVersion = "28.5.1" }), "--docker-version 28.5.1 goes with --root DIR"},
		{"keep without a restart", valid(func(o *Options) { o.Keep.Images, o.Restart.Strategy = true, daemon.StrategyNone }), "they do not go with --restart none"},
		{"keep on a tree", valid(func(o *Options) { o.Keep.Volumes, o.Hosts.Root = true, tree }), "--keep-images and --keep-volumes with --root " + tree},
		{"size auto on a tree", valid(func(o *Options) { o.Enable.SizeAuto, o.Hosts.Root = true, tree }), "--size auto with --root " + tree},
		{"signal on a tree", valid(func(o *Options) { o.Restart.Strategy, o.Hosts.Root = daemon.StrategySignal, tree }), "--restart signal with --root " + tree},
		{"via", valid(func(o *Options) { o.Hosts.Via = "ssh" }), `invalid --via "ssh"`},
	} {
		err := c.opts.Check()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
