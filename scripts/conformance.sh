#!/usr/bin/env bash
# Property-based conformance run of the hub against its own /openapi.json.
#
# Builds yiku, starts `yiku dev` (embedded SQLite and broker, demo data) on a
# temporary data dir and free loopback ports, and runs schemathesis against
# /openapi.json once per role: a catalog admin (the e-government office), a
# department admin, a department system and an officer, so that refusals
# (403) are exercised as well as the happy paths; then, last, the operations
# that can disable the caller or revoke its key. Every run checks that no
# answer is a 5xx, that every status is one the description documents, and
# that every body and header matches its schema. Any failure fails the script.
#
# schemathesis (pinned in scripts/conformance-requirements.txt) is installed
# into a virtual environment under deployments/local/.cache/ on first use.
#
# Usage: scripts/conformance.sh
# Environment:
#   CONFORMANCE_EXAMPLES  test cases per operation and role (default 12)
#   CONFORMANCE_MAX_TIME  seconds a role's run may take at most (default 25; the
#                         catalog admin's gets 8/5 of it, the officer's 4/5, the last run 2/5)
#   CONFORMANCE_SEED      a seed to reproduce a run (default: random)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
YIKU_COMPONENT=conformance
# shellcheck source=../deployments/local/lib.sh
. deployments/local/lib.sh

examples=${CONFORMANCE_EXAMPLES:-12}
max_time=${CONFORMANCE_MAX_TIME:-25}
venv=$CACHE_DIR/schemathesis-venv
requirements=$ROOT/scripts/conformance-requirements.txt

# ensure_venv: the virtual environment with exactly the pinned requirements.
ensure_venv() {
	local stamp=$venv/.requirements
	if [[ -x $venv/bin/schemathesis ]] && cmp -s "$requirements" "$stamp"; then
		return 0
	fi
	command -v python3 >/dev/null || apt_install python3
	rm -rf "$venv"
	mkdir -p "$CACHE_DIR"
	if ! python3 -m venv "$venv" 2>/dev/null; then
		# Debian splits venv (and ensurepip) into python3-venv.
		rm -rf "$venv"
		apt_install python3-venv
		python3 -m venv "$venv"
	fi
	log "installing $(grep -v '^#' "$requirements" | xargs) into $venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
	cp "$requirements" "$stamp"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Two runs at once must not build the environment over each other.
mkdir -p "$RUN_DIR"
exec {venv_lock}>"$RUN_DIR/schemathesis-venv.lock"
flock -w 600 "$venv_lock" || die "timed out waiting for $RUN_DIR/schemathesis-venv.lock"
ensure_venv
exec {venv_lock}>&-

work=$(mktemp -d "${TMPDIR:-/tmp}/yiku-conformance.XXXXXX")
hub_pid=
cleanup() {
	if [[ -n $hub_pid ]]; then
		stop_pid "$hub_pid" "yiku dev" 20 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

log "building yiku"
go build -o "$work/yiku" ./cmd/yiku

http_port=$(free_port)
kafka_port=$(free_port)
while [[ $kafka_port == "$http_port" ]]; do kafka_port=$(free_port); done
base=http://127.0.0.1:$http_port
log "starting yiku dev on $base (data in $work/data)"
"$work/yiku" dev --data-dir "$work/data" --http-addr "127.0.0.1:$http_port" --kafka-addr "127.0.0.1:$kafka_port" \
	--log-level warn --log-format text >"$work/hub.log" 2>&1 &
hub_pid=$!
for ((i = 0; i < 120; i++)); do
	if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$hub_pid" 2>/dev/null; then
		hub_pid=
		show_log "$work/hub.log"
		die "yiku dev exited before it was ready"
	fi
	sleep 0.5
done
curl -fsS -o /dev/null "$base/readyz" || { show_log "$work/hub.log"; die "yiku dev not ready after 60s"; }

# secret PRINCIPAL: the demo credential of a principal from credentials.json.
secret() {
	python3 - "$work/data/credentials.json" "$1" <<-'EOF'
		import json, sys
		creds = json.load(open(sys.argv[1]))
		print(next(c["secret"] for c in creds if c["principal"] == sys.argv[2]))
	EOF
}

seed_args=()
if [[ -n ${CONFORMANCE_SEED:-} ]]; then
	seed_args=(--seed "$CONFORMANCE_SEED")
fi

# run PRINCIPAL MAX_TIME [schemathesis options]: one schemathesis run as PRINCIPAL.
# One worker: schemathesis's threads trip a CPython 3.11 AST recursion check
# in hypothesis, and the machine's cores are shared anyway.
runs=0
run() {
	local principal=$1 seconds=$2
	shift 2
	runs=$((runs + 1))
	log "schemathesis as $principal (at most $examples cases per operation, ${seconds}s)"
	if ! (cd "$work" && "$venv/bin/schemathesis" run "$base/openapi.json" \
		--header "Authorization: Bearer $(secret "$principal")" \
		--checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,response_headers_conformance \
		--phases examples,coverage,fuzzing --mode all \
		--max-examples "$examples" --max-time "$seconds" --workers 1 \
		--request-timeout 10 --generation-database none --no-color \
		--report junit --report-junit-path "$work/junit-$runs-$principal.xml" "${seed_args[@]}" "$@") \
		>"$work/run-$runs-$principal.txt" 2>&1; then
		status=1
		cat "$work/run-$runs-$principal.txt"
		log "schemathesis found failures as $principal"
	fi
	grep -E '^ *(Selected|Tested):|generated|^=+ .* in [0-9.]+s =+$' "$work/run-$runs-$principal.txt" | sed 's/^ */    /' >&2 || true
}

status=0
start=$SECONDS
# Schemathesis feeds ids it saw in answers (GET /me, the principal lists)
# back into path parameters, so a run may well disable the principal it runs
# as, or revoke its key, and see only 401 from then on. Those two operations
# are left out of the role runs and tried last, in a run of their own.
self_harm=(--exclude-path-regex '^/api/v1/admin/(principals/[^/]+/disable|api-keys/[^/]+)$')
# The catalog admin reaches the most operations with the largest bodies, so
# its run gets the most time.
run catalog-admin $((max_time * 8 / 5)) "${self_harm[@]}"
for principal in admin-psb psb-system; do
	run "$principal" "$max_time" "${self_harm[@]}"
done
run officer-gsc $((max_time * 4 / 5)) "${self_harm[@]}"
run catalog-admin $((max_time * 2 / 5)) --include-path-regex '^/api/v1/admin/(principals/[^/]+/disable|api-keys/[^/]+)$'
log "$runs schemathesis runs took $((SECONDS - start))s"
if grep -q 'level=ERROR' "$work/hub.log"; then
	log "the hub logged errors:"
	grep 'level=ERROR' "$work/hub.log" | head -20 >&2
	status=1
fi
if ((status != 0)); then
	die "the hub does not conform to its OpenAPI description"
fi
log "the hub conforms to its OpenAPI description"
