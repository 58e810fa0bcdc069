# docker-userns: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN_DIR ?= bin
PLUGIN := $(BIN_DIR)/docker-userns
# Where `make install` puts the plugin; /usr/local/lib/docker/cli-plugins serves all users.
PLUGIN_DIR ?= $(HOME)/.docker/cli-plugins
# Go test timeout for the suites that start Docker-in-Docker daemons: one
# package binary, under the 90 minutes a CI run may take in all.
TEST_TIMEOUT ?= 80m
# Fuzz runs are counted in inputs, not seconds: a time budget fails with
# "context deadline exceeded" when a loaded machine stalls the workers.
FUZZ_TIME ?= 50000x

.DEFAULT_GOAL := help
.PHONY: help build install uninstall docker sshd tools dind-images test test-unit fuzz validate cross release conformance bench

help: ## List the targets with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The small probe program the plugin embeds (probe.BuildSmall), for Linux
# on this machine's architecture: built first. `make release` embeds both.
PROBE_PROGRAM := plugin/internal/probe/embedded/docker-userns-probe-linux-$(shell $(GO) env GOARCH)
# The version every binary reports (docker info, docker userns version).
VERSION = $(shell scripts/version)
VERSION_LDFLAG = -X github.com/docker-userns/docker-userns.version=$(VERSION)

build: ## Build the plugin as a static binary into bin/docker-userns (the small probe program embedded)
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -w" -o $(PROBE_PROGRAM) ./plugin/internal/probe/cmd/docker-userns-probe
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(VERSION_LDFLAG)" -o $(PLUGIN) ./plugin

release: ## Write dist/: the plugin for Linux, macOS and Windows, .deb packages, SBOM, install.sh, checksums.txt (reproducible)
	GO=$(GO) scripts/release

install: build ## Install the plugin for the docker CLI (PLUGIN_DIR=... to choose where)
	install -D -m 0755 $(PLUGIN) $(PLUGIN_DIR)/docker-userns

uninstall: ## Remove the installed plugin from PLUGIN_DIR
	rm -f $(PLUGIN_DIR)/docker-userns

docker: ## Make sure a Docker engine answers here (installs Debian's docker.io if missing)
	scripts/ensure-docker

tools: ## Install what the release tests need (qemu-user-static, dpkg-deb, file) when missing
	scripts/ensure-tools

sshd: ## Get the ssh client and unpack Debian's sshd for the ssh test hosts (never installed nor started here)
	scripts/ensure-sshd

dind-images: docker ## Build the offline Docker-in-Docker images, every version and flavour (skipped when up to date)
	scripts/build-dind-images

# Packages whose tests need no Docker engine, derived rather than listed:
# those whose tests import neither the harness nor testcontainers (a test
# that imports the API client alone talks to a fake daemon).
UNIT_PACKAGES = $(shell $(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... \
	| awk '!/docker-userns\/harness( |$$)|testcontainers/ {print $$1}')

test-unit: ## Run the unit tests (no Docker needed)
	$(GO) test -count=1 $(UNIT_PACKAGES)

test: validate cross docker sshd tools build dind-images ## Run every test: validate, unit, fuzz (briefly), harness and end-to-end on real daemons
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz

# Fuzz targets as package:function; `go test -fuzz` takes one at a time.
FUZZ_TARGETS := \
	./plugin/internal/subid:FuzzParse \
	./plugin/internal/remapspec:FuzzParse \
	./plugin/internal/daemonconfig:FuzzSet \
	./plugin/internal/rangeplan:FuzzMake \
	./plugin/internal/hostfs:FuzzResolveInRoot

fuzz: ## Run each fuzz target for FUZZ_TIME inputs (default 50000x)
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; fn=$${target##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZ_TIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZ_TIME) $$pkg || exit 1; \
	done

# Client platforms the plugin must keep compiling for. (Not vetted there:
# vet takes the test files too, and the tests are Linux's.)
CROSS_PLATFORMS := linux/arm64 darwin/arm64 windows/amd64

cross: ## Compile the plugin for linux/arm64 and the macOS and Windows clients, so it stays compiling
	@for p in $(CROSS_PLATFORMS); do \
		echo "cross $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./plugin || exit 1; \
	done

validate: ## Fail when gofmt, go vet, staticcheck (staticcheck.conf) or go mod tidy find anything
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff

bench: docker build dind-images ## Print the benchmark figures: ratios against baselines measured in the same run (~30 min; BENCH_PARTS=enable or keep for those DinD rows only)
	BENCH_PLUGIN=$(PLUGIN) GO=$(GO) scripts/bench

# make conformance: where the report files go, and how many scenario runs go
# at once. On 2 cores the daemons need the CPU, but with the harness's exec
# agent a run spends much of its time in timed waits (confirm deadlines,
# restarts), which 4 at once overlap.
CONFORMANCE_OUT ?= out/conformance
CONFORMANCE_PARALLEL ?= 4
.PHONY: conformance
conformance: build dind-images ## Prove the user story in DinD on every Docker version; report, JUnit XML and JSON in out/conformance
	@mkdir -p $(CONFORMANCE_OUT)
	@$(GO) build -o $(CONFORMANCE_OUT)/report ./scenarios/cmd/report
	@set -o pipefail; $(GO) test -count=1 -json -parallel $(CONFORMANCE_PARALLEL) -timeout $(TEST_TIMEOUT) ./scenarios 2>&1 \
		| tee $(CONFORMANCE_OUT)/go-test.json \
		| $(CONFORMANCE_OUT)/report -junit $(CONFORMANCE_OUT)/junit.xml -json $(CONFORMANCE_OUT)/report.json
