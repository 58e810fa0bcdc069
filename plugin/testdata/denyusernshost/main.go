// Command denyusernshost is a Docker authorization plugin that refuses to
// create containers with --userns=host, as a CI daemon's policy may (no
// host namespaces): a daemon that does not let `docker userns` start its
// helper container. The e2e tests run it inside a test host.
//
// It speaks the v1 plugin protocol of moby's pkg/plugins and
// pkg/authorization (20.10 to 28.5): dockerd finds the socket
// /run/docker/plugins/NAME.sock (pkg/plugins/discovery.go,
// LocalRegistry.Plugin), activates it (Plugin.Activate: implements
// "authz"), and asks AuthZPlugin.AuthZReq before each request and
// AuthZPlugin.AuthZRes after it (pkg/authorization/api.go).
package main

import (
	"encoding/json"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Name is the plugin's name in daemon.json's authorization-plugins.
const Name = "deny-userns-host"

// Refusal is the message the daemon relays to a refused client.
const Refusal = "containers with --userns=host are not allowed on this daemon"

// request is what dockerd sends (authorization.Request).
type request struct {
	RequestMethod string `json:"RequestMethod"`
	RequestURI    string `json:"RequestUri"`
	RequestBody   []byte `json:"RequestBody"`
}

// response is what dockerd reads (authorization.Response).
type response struct {
	Allow bool   `json:"Allow"`
	Msg   string `json:"Msg,omitempty"`
}

func main() {
	sock := filepath.Join("/run/docker/plugins", Name+".sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, map[string][]string{"Implements": {"authz"}})
	})
	http.HandleFunc("/AuthZPlugin.AuthZReq", func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, response{Msg: "cannot read the request: " + err.Error()})
			return
		}
		reply(w, decide(req))
	})
	http.HandleFunc("/AuthZPlugin.AuthZRes", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, response{Allow: true})
	})
	log.Fatal(http.Serve(l, nil))
}

// decide refuses a container create asking for the host's user namespace.
func decide(req request) response {
	if req.RequestMethod != http.MethodPost || !strings.Contains(req.RequestURI, "/containers/create") {
		return response{Allow: true}
	}
	var body struct {
		HostConfig struct{ UsernsMode string }
	}
	_ = json.Unmarshal(req.RequestBody, &body)
	if body.HostConfig.UsernsMode == "host" {
		return response{Msg: Refusal}
	}
	return response{Allow: true}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
	_ = json.NewEncoder(w).Encode(v)
}
