# Yiku — the targets a newcomer guesses.
SHELL := /bin/bash
GO    ?= go
PKGS  ?= ./...

.PHONY: run test test-sm test-faults test-federation test-embedded conformance bench bench-connect fuzz lint services services-down build

build:
	$(GO) build -o bin/yiku ./cmd/yiku

# The one-command quick start: embedded SQLite + Kafka-protocol broker + demo data.
run:
	$(GO) run ./cmd/yiku dev

# The whole suite against real PostgreSQL, Apache Kafka, MariaDB and S3Proxy
# (S3), started by the project's own scripts, then a bounded fuzz pass over
# every parser and a bounded property-based run of the hub against its
# OpenAPI description. The
# web console's browser tests need Debian's chromium and a CJK font, which
# scripts/browser-deps.sh installs when missing; under make test a missing
# browser fails the run instead of skipping.
test:
	@set -euo pipefail; \
	env_lines=$$(deployments/local/services-up.sh --shell); \
	eval "$$env_lines"; \
	echo "testing against $$YIKU_TEST_DATABASE_URL, Kafka $$YIKU_TEST_KAFKA_BROKERS ($$YIKU_TEST_KAFKA_SASL_MECHANISM over TLS as $$YIKU_TEST_KAFKA_USERNAME) and S3 $$YIKU_TEST_S3_URL"; \
	scripts/browser-deps.sh; \
	$(GO) vet $(PKGS); \
	YIKU_REQUIRE_BROWSER=1 $(GO) test -race -shuffle=on -count=1 -timeout 20m $(PKGS); \
	scripts/fuzz.sh 5s; \
	scripts/conformance.sh

# The same suite with every test hub on the national cryptography suite
# (SM3/SM2 audit chains); not part of make test, which it would double.
test-sm:
	@set -euo pipefail; env_lines=$$(deployments/local/services-up.sh --shell); eval "$$env_lines"; \
	YIKU_TEST_CRYPTO=sm $(GO) test -count=1 -timeout 20m $(PKGS)

# The fault suite (exchange/faulttest, docs/faults.md): PostgreSQL and a
# three-node Kafka cluster (YIKU_KAFKA_NODES=3, ports 59192..59197 unless
# YIKU_KAFKA_PORT says otherwise), a hub process under HTTP load, and
# services killed under it. Not part of make test: it kills and restarts
# brokers and takes minutes. The cluster keeps running afterwards; stop it
# with YIKU_KAFKA_NODES=3 deployments/local/kafka-down.sh.
test-faults:
	@set -euo pipefail; \
	pg_lines=$$(deployments/local/postgres-up.sh); \
	kafka_lines=$$(YIKU_KAFKA_NODES=3 deployments/local/kafka-up.sh); \
	set -a; eval "$$pg_lines"; eval "$$kafka_lines"; set +a; \
	echo "fault suite against $$YIKU_TEST_DATABASE_URL and the Kafka cluster $$YIKU_TEST_KAFKA_BROKERS"; \
	YIKU_TEST_FAULTS=1 $(GO) test -count=1 -v -timeout 30m ./exchange/faulttest/

# The federation suite with the real parts (docs/federation.md): the
# district's Kafka broker, a second one for the city hub (.run/kafka-city,
# port 59392) and MirrorMaker 2, which the MirrorMaker test starts and
# stops itself; it also stops and starts the city broker mid-stream. Not
# part of make test (there the city hub runs on an embedded broker and the
# MirrorMaker test skips): a third JVM, and a few minutes.
test-federation:
	@set -euo pipefail; \
	pg_lines=$$(deployments/local/postgres-up.sh); \
	kafka_lines=$$(deployments/local/kafka-up.sh); \
	city_lines=$$(YIKU_KAFKA_DIR=kafka-city YIKU_KAFKA_PORT=59392 deployments/local/kafka-up.sh | sed 's/^YIKU_TEST_KAFKA_/YIKU_TEST_CITY_KAFKA_/'); \
	set -a; eval "$$pg_lines"; eval "$$kafka_lines"; eval "$$city_lines"; set +a; \
	echo "federation suite: district Kafka $$YIKU_TEST_KAFKA_BROKERS, city Kafka $$YIKU_TEST_CITY_KAFKA_BROKERS"; \
	YIKU_TEST_MM2=1 YIKU_TEST_CITY_KAFKA_DIR=kafka-city YIKU_TEST_CITY_KAFKA_PORT=59392 $(GO) test -count=1 -v -timeout 20m ./federation/

# Fast local loop on the embedded backends (no services needed).
test-embedded:
	$(GO) test -count=1 $(PKGS)

# schemathesis against /openapi.json of a `yiku dev` hub, as four roles:
# fails on any 5xx, undocumented status or body off its schema.
conformance:
	scripts/conformance.sh

bench:
	@set -euo pipefail; env_lines=$$(deployments/local/services-up.sh --shell); eval "$$env_lines"; \
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# The library sink beside Kafka Connect's Debezium JDBC sink on the same
# records (docs/performance.md); not part of make test. Fetches the Connect
# worker and the connector with Maven on the first run.
bench-connect:
	scripts/bench-connect.sh

fuzz:
	scripts/fuzz.sh 30s

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

services:
	deployments/local/services-up.sh

services-down:
	deployments/local/services-down.sh
