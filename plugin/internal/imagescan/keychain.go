package imagescan

import (
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// CLIKeychain gives registry credentials from the docker CLI's own config
// (dockerCLI.ConfigFile()), so `docker --config DIR` and credential helpers
// work as they do for `docker pull`; authn.DefaultKeychain only reads
// DOCKER_CONFIG or ~/.docker. Lookup keys follow authn.DefaultKeychain.
func CLIKeychain(cfg *configfile.ConfigFile) authn.Keychain {
	return cliKeychain{cfg: cfg}
}

type cliKeychain struct{ cfg *configfile.ConfigFile }

func (k cliKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if k.cfg == nil {
		return authn.Anonymous, nil
	}
	var empty types.AuthConfig
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		ac, err := k.cfg.GetAuthConfig(key)
		if err != nil {
			return nil, err
		}
		ac.ServerAddress = ""
		if ac != empty {
			return authn.FromConfig(authn.AuthConfig{
				Username:      ac.Username,
				Password:      ac.Password,
				Auth:          ac.Auth,
				IdentityToken: ac.IdentityToken,
				RegistryToken: ac.RegistryToken,
			}), nil
		}
	}
	return authn.Anonymous, nil
}
