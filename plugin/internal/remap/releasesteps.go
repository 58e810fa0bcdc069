//go:build !testhooks

package remap

// buildSteps are a released build's hooks: none (testhooks.go has the
// pauses end-to-end tests use).
func buildSteps() stepHooks { return stepHooks{} }
