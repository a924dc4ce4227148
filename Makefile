# Yiku — the targets a newcomer guesses.
SHELL := /bin/bash
GO    ?= go
PKGS  ?= ./...

.PHONY: run test test-embedded bench fuzz lint services services-down build

build:
	$(GO) build -o bin/yiku ./cmd/yiku

# The one-command quick start: embedded SQLite + Kafka-protocol broker + demo data.
run:
	$(GO) run ./cmd/yiku dev

# The whole suite against real PostgreSQL and Apache Kafka, started by the
# project's own scripts, then a bounded fuzz pass over every parser.
test:
	@set -euo pipefail; \
	env_lines=$$(deployments/local/services-up.sh --shell); \
	eval "$$env_lines"; \
	echo "testing against $$YIKU_TEST_DATABASE_URL and Kafka $$YIKU_TEST_KAFKA_BROKERS ($$YIKU_TEST_KAFKA_SASL_MECHANISM over TLS as $$YIKU_TEST_KAFKA_USERNAME)"; \
	$(GO) vet $(PKGS); \
	$(GO) test -race -shuffle=on -count=1 -timeout 20m $(PKGS); \
	scripts/fuzz.sh 5s

# Fast local loop on the embedded backends (no services needed).
test-embedded:
	$(GO) test -count=1 $(PKGS)

bench:
	@set -euo pipefail; env_lines=$$(deployments/local/services-up.sh --shell); eval "$$env_lines"; \
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz:
	scripts/fuzz.sh 30s

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

services:
	deployments/local/services-up.sh

services-down:
	deployments/local/services-down.sh
