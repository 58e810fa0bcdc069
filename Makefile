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
.PHONY: help build install uninstall docker sshd ansible tools dind-images test test-unit fuzz validate cross release conformance conformance-all bench

help: ## List the targets with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The small probe program the plugin embeds (probe.BuildSmall), for Linux
# on this machine's architecture: built first. `make release` embeds both.
PROBE_PROGRAM := plugin/internal/probe/embedded/docker-userns-probe-linux-$(shell $(GO) env GOARCH)
# The version every binary reports (docker info, docker userns version).
VERSION = $(shell scripts/version)
VERSION_LDFLAG = -X github.com/docker-userns/docker-userns.version=$(VERSION)

# Without it the plugin does not compile (probe/small.go's go:embed): every
# target that compiles the plugin's packages builds it first.
.PHONY: probe-program
probe-program:
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "-s -w" -o $(PROBE_PROGRAM) ./plugin/internal/probe/cmd/docker-userns-probe

build: probe-program ## Build the plugin as a static binary into bin/docker-userns (the small probe program embedded)
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

ansible: ## Install ansible-playbook (Debian's ansible-core) for the Ansible role's test (deploy/ansible)
	scripts/ensure-ansible

dind-images: docker ## Build the offline Docker-in-Docker images, every version and flavour (skipped when up to date)
	scripts/build-dind-images

# Packages whose tests need no Docker engine, derived rather than listed:
# those whose tests import neither the harness nor testcontainers (a test
# that imports the API client alone talks to a fake daemon). A test that
# runs the built plugin or the docker CLI goes to plugin/*_e2e_test.go.
# DOCKER_HOST names no daemon, so a unit test that reaches one fails.
UNIT_PACKAGES = $(shell $(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... \
	| awk '!/docker-userns\/harness( |$$)|testcontainers/ {print $$1}')

test-unit: probe-program ## Run the unit tests (no Docker needed)
	DOCKER_HOST=unix:///nonexistent/docker.sock $(GO) test -count=1 $(UNIT_PACKAGES)

# Every package but the scenarios, which conformance-all runs (with its
# report): one path for them, never run twice.
NON_SCENARIO_PACKAGES = $(shell $(GO) list ./... | grep -v '/scenarios$$')

# The packages (one at a time) beside the matrix: the profile `go test
# ./...` (-p 2) had when it ran the scenarios in one of its two slots.
test: validate cross docker sshd ansible tools build dind-images ## Run every test: validate, unit, fuzz (briefly), harness, end-to-end, and the whole conformance matrix (conformance-all)
	$(MAKE) --no-print-directory -j2 test-packages conformance-all
	$(MAKE) --no-print-directory fuzz

.PHONY: test-packages
test-packages:
	$(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) $(NON_SCENARIO_PACKAGES)

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

cross: probe-program ## Compile the plugin for linux/arm64 and the macOS and Windows clients, so it stays compiling
	@for p in $(CROSS_PLATFORMS); do \
		echo "cross $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./plugin || exit 1; \
	done

validate: probe-program ## Fail when gofmt, go vet, staticcheck (staticcheck.conf) or go mod tidy find anything
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff

bench: docker build dind-images ## Print the benchmark figures: ratios against baselines measured in the same run (~30 min; BENCH_PARTS=start, enable or keep for those DinD rows only; each row gives the load it was taken at)
	BENCH_PLUGIN=$(PLUGIN) GO=$(GO) scripts/bench

# make conformance and conformance-all: where the report files go, and how
# many scenario runs go at once. A quick-tier run uses its host's CPU for a
# fifth of its time and waits the rest (restarts, confirm deadlines): on 2
# cores 6 at once took the 24 runs of five images 194 s where 4 took 232 s
# (load 21 to 34 from other suites). The full tier keeps the 4 its CI time
# was measured with; 6 is not measured there yet.
# CONFORMANCE_RUN=REGEXP passes -run to go test (e.g. '/^28.5$$' for one
# version).
CONFORMANCE_OUT ?= out/conformance
CONFORMANCE_PARALLEL ?= 6
CONFORMANCE_ALL_PARALLEL ?= 4
CONFORMANCE_RUN ?=

conformance: conformance-say-quick build dind-images ## The main job: prove the user story on every Docker version and flavour (the quick tier, ~5 min once images exist); report, JUnit XML and JSON in out/conformance
	$(call run-conformance,quick,$(CONFORMANCE_PARALLEL))

conformance-all: conformance-say-all build dind-images ## Every scenario on every Docker version and flavour (the whole matrix; make test runs it)
	$(call run-conformance,all,$(CONFORMANCE_ALL_PARALLEL))

# The first line a user sees, before the plugin and the images are built.
.PHONY: conformance-say-quick conformance-say-all
conformance-say-quick conformance-say-all: conformance-say-%:
	@echo "conformance ($* tier): build the plugin, then the DinD images (scripts/build-dind-images: minutes the first time, then up to date), then run the scenarios with a line per run"

# run-conformance runs the scenarios of tier $(1) (scenarios/tiers_test.go),
# $(2) at once, through the report, which prints progress on stderr.
define run-conformance
@mkdir -p $(CONFORMANCE_OUT)
@$(GO) build -o $(CONFORMANCE_OUT)/report ./scenarios/cmd/report
@set -o pipefail; USERNS_CONFORMANCE=$(1) $(GO) test -count=1 -json -parallel $(2) -timeout $(TEST_TIMEOUT) $(if $(CONFORMANCE_RUN),-run '$(CONFORMANCE_RUN)') ./scenarios 2>&1 \
	| tee $(CONFORMANCE_OUT)/go-test.json \
	| $(CONFORMANCE_OUT)/report -junit $(CONFORMANCE_OUT)/junit.xml -json $(CONFORMANCE_OUT)/report.json
endef
