package daemon

import (
	"context"
	"sync"

	"github.com/moby/moby/client"
)

// OneInfo is api whose Info is asked of the daemon once and then answered
// from that first answer: for the checks of one command that each want
// the daemon's info (the same host, its version and data root, its work),
// never across a restart. Each Info costs the daemon two forks, `runc
// --version` and `docker-init --version` (moby daemon/info_unix.go
// fillPlatformInfo in v20.10.24; populateRuncCommit and populateInitCommit
// in v26.1.5), a tenth of a second or more on a busy host.
func OneInfo(api client.APIClient) client.APIClient {
	if api == nil {
		return nil
	}
	return &oneInfo{APIClient: api}
}

type oneInfo struct {
	client.APIClient
	mu  sync.Mutex
	res *client.SystemInfoResult
}

// Info asks the daemon until it has answered once. Options are not
// compared: every caller asks the same.
func (o *oneInfo) Info(ctx context.Context, opts client.InfoOptions) (client.SystemInfoResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.res != nil {
		return *o.res, nil
	}
	res, err := o.APIClient.Info(ctx, opts)
	if err != nil {
		return res, err
	}
	o.res = &res
	return res, nil
}

// ForgetInfo has a OneInfo ask the daemon again at its next Info: the
// daemon may have changed since (another run restarted it). Any other
// client is left as it is.
func ForgetInfo(api client.APIClient) {
	if o, ok := api.(*oneInfo); ok {
		o.mu.Lock()
		o.res = nil
		o.mu.Unlock()
	}
}
