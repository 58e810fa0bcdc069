package commands

import (
	"context"
	"strings"
	"testing"
)

// TestTargetsRefuseAnEmptyRoot is issue 12 case 7: --root "" used to mean
// / and force the local files whatever daemon answered.
func TestTargetsRefuseAnEmptyRoot(t *testing.T) {
	_, err := targets(context.Background(), nil, "", hostOptions{via: viaAuto})
	if err == nil || !strings.Contains(err.Error(), `--root ""`) {
		t.Fatalf(`--root "": want a refusal, got %v`, err)
	}
}
