package imagescan

import (
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestCLIKeychainCases(t *testing.T) {
	cfg := configfile.New("")
	cfg.AuthConfigs = map[string]types.AuthConfig{
		"registry.example.com":        {Username: "alice", Password: "secret"},
		"https://index.docker.io/v1/": {Username: "bob", Password: "hub"},
	}
	kc := CLIKeychain(cfg)
	for _, tc := range []struct{ registry, user string }{
		{"registry.example.com", "alice"},
		{name.DefaultRegistry, "bob"},
		{"other.example.com", ""},
	} {
		t.Run(tc.registry, func(t *testing.T) {
			reg, err := name.NewRegistry(tc.registry)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(reg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user == "" {
				if a != authn.Anonymous {
					t.Errorf("got %v, want anonymous", a)
				}
				return
			}
			ac, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if ac.Username != tc.user {
				t.Errorf("user %q, want %q", ac.Username, tc.user)
			}
		})
	}
}
