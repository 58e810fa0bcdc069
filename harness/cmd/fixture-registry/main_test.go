package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushThenPingAndPull(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ref := addr + "/high:latest"

	var out bytes.Buffer
	if err := run([]string{"push", "--ref", ref, "--file", "/etc/x:70000:70000", "--file", "/root0:0:0"}, &out, &out); err != nil {
		t.Fatalf("push: %v", err)
	}
	if !strings.Contains(out.String(), addr+"/high@sha256:") {
		t.Errorf("push printed %q, want the pushed digest", out.String())
	}
	if err := run([]string{"ping", "--addr", addr}, &out, &out); err != nil {
		t.Errorf("ping: %v", err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull back %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("pulled image has %d layers (%v), want 1", len(layers), err)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"nope"},
		{"push", "--ref", "127.0.0.1:1/x"},
		{"push", "--file", "/x:0:0"},
		{"push", "--ref", "127.0.0.1:1/x", "--file", "/x:0"},
	} {
		var out bytes.Buffer
		if err := run(args, &out, &out); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestPingFailsWithoutRegistry(t *testing.T) {
	srv := httptest.NewServer(nil)
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	if err := ping(addr); err == nil {
		t.Errorf("ping %s with nothing listening succeeded", addr)
	}
}
