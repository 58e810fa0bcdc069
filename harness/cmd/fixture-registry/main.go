// Command fixture-registry is the registry fixture of the harness, run inside
// a DinD container so all traffic stays on its loopback:
//
//	fixture-registry serve --addr 127.0.0.1:5000
//	fixture-registry push --ref 127.0.0.1:5000/high:latest --file /etc/x:70000:70000 --file /root0:0:0
//	fixture-registry ping --addr 127.0.0.1:5000
//
// serve keeps images in memory (go-containerregistry's pkg/registry); push
// builds a one-layer image from file specs (see harness/fixtureimage) and
// pushes it; ping exits 0 once the registry answers.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker-userns/docker-userns/harness/fixtureimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const usage = "usage: fixture-registry serve|ping [--addr HOST:PORT] | push --ref REF --file PATH:UID:GID[:MODE] (--file repeats)"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fixture-registry:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		fl := flag.NewFlagSet("serve", flag.ContinueOnError)
		addr := fl.String("addr", "127.0.0.1:5000", "address to listen on")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		srv := &http.Server{
			Addr:              *addr,
			Handler:           registry.New(registry.Logger(log.New(stderr, "", log.LstdFlags))),
			ReadHeaderTimeout: 10 * time.Second,
		}
		fmt.Fprintf(stdout, "serving on %s\n", *addr)
		return srv.ListenAndServe()
	case "ping":
		fl := flag.NewFlagSet("ping", flag.ContinueOnError)
		addr := fl.String("addr", "127.0.0.1:5000", "address of the registry")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		return ping(*addr)
	case "push":
		fl := flag.NewFlagSet("push", flag.ContinueOnError)
		ref := fl.String("ref", "", "image reference to push to, e.g. 127.0.0.1:5000/high:latest")
		var files fileSpecs
		fl.Var(&files, "file", "PATH:UID:GID[:MODE] of a file in the layer (repeat)")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		if *ref == "" || len(files) == 0 || fl.NArg() != 0 {
			return errors.New(usage)
		}
		return push(*ref, files, stdout)
	default:
		return fmt.Errorf("unknown subcommand %q; %s", args[0], usage)
	}
}

type fileSpecs []fixtureimage.File

func (f *fileSpecs) String() string {
	s := make([]string, len(*f))
	for i, x := range *f {
		s[i] = x.String()
	}
	return strings.Join(s, " ")
}

func (f *fileSpecs) Set(spec string) error {
	x, err := fixtureimage.ParseFile(spec)
	if err != nil {
		return err
	}
	*f = append(*f, x)
	return nil
}

func ping(addr string) error {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/v2/")
	if err != nil {
		return fmt.Errorf("ping %s: %w", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping %s: status %s", addr, resp.Status)
	}
	return nil
}

func push(ref string, files []fixtureimage.File, stdout io.Writer) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return fmt.Errorf("parse reference %q: %w", ref, err)
	}
	img, err := fixtureimage.Image(files...)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	fmt.Fprintf(stdout, "%s@%s\n", r.Context().Name(), d)
	return nil
}
