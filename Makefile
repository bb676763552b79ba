# ConcertMaster — the two commands a new machine needs:
#   make run    builds the web editor and the binary, then serves on SQLite at http://localhost:8080
#   make test   runs every test: Go (unit, integration, SQLite and PostgreSQL conformance, fuzz seeds)
#               with -race, the scale-out chaos test, and the web editor's unit and end-to-end tests
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/concertmaster
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
HAS_WEB := $(wildcard web/package.json)

.PHONY: build run test test-go test-chaos test-web test-e2e cover bench web fake-assets fmt vet lint clean services plugins

build: web
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/concertmaster

run: build
	$(BIN) serve

ifneq ($(HAS_WEB),)
web: web/node_modules/.installed
	cd web && npm run build

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@
else
web: fake-assets
endif

# fake-assets lets Go build and test without Node: the binary then serves a page that says the editor
# was not built.
fake-assets:
	mkdir -p web/dist && touch web/dist/.gitkeep

# plugins builds the example plugins (examples/plugins) into bin/plugins/<name>/, each ready to copy
# into CM_PLUGIN_DIR (docs/plugins.md): WebAssembly modules with GOOS=wasip1, Python process plugins
# with the helper copied in. It needs Go and python3 (scripts/build-plugins.sh).
plugins:
	scripts/build-plugins.sh bin/plugins

# services starts (or installs) PostgreSQL and Redis, starts MariaDB, RabbitMQ, Mosquitto and NATS, and
# prints the URLs the tests read.
services:
	@scripts/ensure-services.sh

# test runs every test. The web unit tests (Vitest, one worker on 2 cores) run beside the browser
# tests, which mostly wait on the browser and the server: that keeps CI inside its 30 minutes.
test: test-go test-chaos
	$(MAKE) -j2 --output-sync=target test-web test-e2e

# test-go first compiles the test WebAssembly modules into the shared wazero cache without -race
# (TestWarmCompilationCache): the compiler is ~10x slower under the race detector.
test-go:
	@if [ -z "$${CM_TEST_DATABASE_URL:-}" ] || [ -z "$${CM_TEST_NATS_URL:-}" ]; then eval "$$(scripts/ensure-services.sh)" || exit 1; fi; \
	echo "PostgreSQL for tests: $${CM_TEST_DATABASE_URL%%\?*}"; \
	$(GO) test -count=1 -run '^TestWarmCompilationCache$$' ./internal/pluginhost && \
	$(GO) test -race -count=1 -timeout 15m ./...

# test-chaos runs the chaos test of issue 11 (test/chaos, docs/scale-out.md): 1 API and 3 workers of
# the binary on a private PostgreSQL and Redis, 2,000 executions, a worker killed every 2 s, both
# servers restarted once; it prints the counts. It needs the PostgreSQL server binaries and
# redis-server, and fails without them. CM_CHAOS_BIN names another binary than bin/concertmaster.
test-chaos: $(if $(CM_CHAOS_BIN),,build)
	$(GO) test -tags chaos -race -count=1 -v -timeout 10m ./test/chaos/

ifneq ($(HAS_WEB),)
test-web: web/node_modules/.installed
	cd web && npm test

test-e2e: build
	cd web && npm run test:e2e
else
test-web test-e2e:
	@echo "web/ has no package.json yet: no web tests to run"
endif

# cover prints the statement coverage of product code, integration tests counted, per package and in
# total, then the web editor's line coverage (scripts/cover.sh; not part of make test: it runs every
# test again, instrumented).
cover: $(if $(HAS_WEB),web/node_modules/.installed)
	scripts/cover.sh

# bench prints every figure the issues name (see bench/README.md).
bench: build
	bench/run.sh

fmt:
	gofmt -w cmd internal web/*.go

vet:
	$(GO) vet ./...

# lint runs golangci-lint v2 (fetched through the module proxy on first use) with .golangci.yaml, then
# the web editor's ESLint (web/eslint.config.js: typescript-eslint, react-hooks, TanStack Query).
# The web lint is ESLint and `prettier --check` (`cd web && npm run format` rewrites the files).
lint: $(if $(HAS_WEB),web/node_modules/.installed)
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run ./...
	$(if $(HAS_WEB),cd web && npm run lint)

clean:
	rm -rf bin web/dist/assets web/dist/index.html web/dist/theme.js
