# Floe — build, test and run. Every target loops over the Go modules.
#   make run       everything in one process on an embedded NATS (floe dev)
#   make journey   floe dev with the guide's whole release journey driven through it (floe demo journey), for the console
#   make cluster   a 3-node NATS cluster and every service as its own process (floe cluster up)
#   make chaos     the cluster chaos tests, CHAOS_COUNT times with new seeds
#   make load      LOAD_RELEASES (50) journeys at once on the cluster, with the same faults
#   make test      gofmt, vet, race tests in every module (deploy without -race), GOWORK=off builds, buf lint, generated-code check
#   make browser   the admin console in headless Chromium (installs Debian's chromium when root)
#   make interop   across languages: audit bundles (Python verifier, python3/jq rewrites), OpenFeature JS SDK on flagd sync and OFREP (needs python3, jq, node, npm)
#   make lint      gofmt, go vet, buf lint, buf breaking, generated-code check
#   make generate  regenerate Go code from proto/ (local plugins pinned in tools/codegen)
#   make bench     benchmarks (figures go to docs/performance.md)
#   make tidy      go mod tidy in every module

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
MODULES := proto libs tools e2e deploy $(patsubst %/go.mod,%,$(wildcard services/*/go.mod))
# buf and its plugins run from their own module (tools/codegen), outside go.work.
BUF := cd tools/codegen && GOWORK=off $(GO) tool buf
RACE_TIMEOUT ?= 15m
BENCH ?= .
BENCHTIME ?= 1s
BENCHCOUNT ?= 1

.PHONY: all run journey floe build cluster chaos load browser test interop capacity vet test-race build-nowork lint fmt-check buf-lint buf-breaking proto-baseline check-generated generate tidy bench clean

all: build

run: floe
	./bin/floe dev

# floe dev on .floe/ with PenguinMails' release journey driven through it,
# printing each floe command; then floe dev keeps running for the console.
journey: floe
	./bin/floe demo journey

SERVICES := audit release gate flag change deployer monitor notifier console

floe:
	$(GO) build -o bin/floe ./tools/floe

# bin/floe and one binary per service (bin/floe-<service>).
build: floe
	@for s in $(SERVICES); do echo "go build bin/floe-$$s"; $(GO) build -o bin/floe-$$s ./services/$$s/cmd/$$s; done

# The production shape on this machine: a 3-node NATS cluster (deploy/nats)
# and every service binary as its own process (floe cluster up --help).
cluster: build
	./bin/floe cluster up

# The cluster's chaos tests (a NATS node killed mid-canary, the owning
# deployer paused past its lease and killed, the whole cluster restarted),
# CHAOS_COUNT times, each with a new seed (FLOE_CHAOS_SEED replays one).
CHAOS_COUNT ?= 3
chaos:
	cd e2e && $(GO) test -count=$(CHAOS_COUNT) -timeout 60m -run '^TestCluster' -v ./

# LOAD_RELEASES release journeys at once on the cluster (each its own product
# and app), with a NATS node and a deployer instance killed while they run and
# the whole cluster restarted after (docs/performance.md#load-on-the-cluster).
LOAD_RELEASES ?= 50
load:
	cd e2e && LOAD_RELEASES=$(LOAD_RELEASES) $(GO) test -tags load -count=1 -timeout 60m -run '^TestClusterLoad$$' -v ./

test: fmt-check vet test-race build-nowork buf-lint buf-breaking check-generated

# Cross-language check of audit bundles (libs/eventstore/audit/interop_test.go):
# bundles rewritten by python3 and jq verify with floe and with the independent
# Python verifier (tools/auditverify), and a one-byte tamper fails both. Then
# OpenFeature's JS SDK with the official flagd (in-process) and OFREP providers
# evaluates Floe's flags as Floe does and sees a kill switch in time
# (e2e/openfeature_interop_test.go, e2e/interop/openfeature). Not part of make
# test: it needs python3, jq, node and npm, and fails (never skips) without them.
interop:
	cd libs && $(GO) vet -tags interop ./eventstore/audit/
	cd libs && $(GO) test -race -count=1 -tags interop -run '^TestInterop' ./eventstore/audit/
	python3 tools/auditverify/verify_bundle.py --self-test
	cd e2e/interop/openfeature && npm ci --no-audit --no-fund
	cd e2e && $(GO) vet -tags interop ./...
	cd e2e && $(GO) test -race -count=1 -tags interop -run '^TestOpenFeature' ./...

# The admin console in real headless Chromium (e2e/browser_test.go): Debian's
# chromium package, installed here when it is missing and this is a root shell
# with apt-get (CI); screenshots in e2e/artifacts/browser. Not part of make test:
# it needs a browser, and fails (never skips) without one.
browser:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; else echo "make browser needs Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }
	cd e2e && $(GO) vet -tags browser ./
	cd e2e && $(GO) test -tags browser -count=1 -run '^TestConsole' -v ./

# Events and bytes a release journey writes to the log (the sizing model in docs/operations.md#capacity; a few minutes).
capacity:
	cd e2e && $(GO) test -tags capacity -count=1 -run '^TestCapacity$$' -v ./

vet:
	@for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && $(GO) vet ./...); done

# deploy (the Helm chart, manifests and units, decoded with Helm's and the
# Kubernetes API's own Go code) has nothing concurrent to race-check, and
# instrumenting Helm and k8s.io for -race costs minutes of a cold build.
NORACE := deploy

test-race:
	@for m in $(MODULES); do \
		if [[ " $(NORACE) " == *" $$m "* ]]; then echo "== go test $$m"; (cd $$m && $(GO) test -count=1 -timeout $(RACE_TIMEOUT) ./...); \
		else echo "== go test -race $$m"; (cd $$m && $(GO) test -race -count=1 -timeout $(RACE_TIMEOUT) ./...); fi; done

# Each module must build on its own, through its replace lines (CI checks both modes).
build-nowork:
	@for m in $(MODULES); do echo "== GOWORK=off go build $$m"; (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./... >/dev/null); done

lint: fmt-check vet buf-lint buf-breaking check-generated

fmt-check:
	@out=$$(gofmt -l $(MODULES) tools/codegen); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

buf-lint:
	$(BUF) lint ../..

# The API may only grow: wire and JSON compatibility (WIRE_JSON) against the
# released baseline, proto/baseline.binpb. Events in the log are protojson of
# these messages, so a break here would make old events unreadable.
buf-breaking:
	$(BUF) breaking ../.. --against ../../proto/baseline.binpb

# Records the current protos as the compatibility baseline (at a release).
proto-baseline:
	$(BUF) build ../.. --exclude-source-info -o ../../proto/baseline.binpb

generate:
	$(BUF) generate --template ../../buf.gen.yaml -o ../.. ../..

# Regenerates into a scratch directory and fails when the committed code differs.
check-generated:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	($(BUF) generate --template ../../buf.gen.yaml -o "$$tmp" ../..); \
	if ! diff -r "$$tmp/proto/gen" proto/gen >/dev/null; then \
		diff -r "$$tmp/proto/gen" proto/gen | head -40; \
		echo "generated code is stale: run 'make generate' and commit the result"; exit 1; \
	fi; echo "generated code is up to date"

tidy:
	@for m in $(MODULES) tools/codegen; do echo "== go mod tidy $$m"; (cd $$m && GOWORK=off $(GO) mod tidy); done

# Benchmarks of every module; raw output in bench.txt, then a benchstat summary
# (BENCHCOUNT=6 or more for confidence intervals). See docs/performance.md.
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
bench:
	@rm -f bench.txt; for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -benchmem ./... | grep -Ev '^(PASS|ok|\?)' | tee -a $(CURDIR)/bench.txt || true); done
	@GOWORK=off $(GO) run $(BENCHSTAT) bench.txt

clean:
	rm -rf bin
