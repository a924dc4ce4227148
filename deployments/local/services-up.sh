#!/usr/bin/env bash
# Start every service the integration tests use and print their KEY=value
# lines on stdout (Kafka prints several: brokers and the SASL/TLS login; S3
# prints the bucket URL and AWS_SHARED_CREDENTIALS_FILE):
#
#   export $(deployments/local/services-up.sh)            # plain KEY=value
#   deployments/local/services-up.sh >>"$GITHUB_ENV"     # CI env files
#   eval "$(deployments/local/services-up.sh --shell)"    # export KEY='value'
#
# The MySQL DSN contains parentheses, so plain lines cannot be eval'ed by a
# shell; --shell quotes them (and the quotes would then break the other uses).
#
# Arguments pick services (postgres, kafka, mariadb, s3); the default is all four.
# They start in parallel; each script's progress goes to stderr with its name.
set -euo pipefail
YIKU_COMPONENT=services
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

shell=
services=()
for a in "$@"; do
	case $a in
	--shell) shell=1 ;;
	postgres | kafka | mariadb | s3) services+=("$a") ;;
	*) die "usage: $0 [--shell] [postgres] [kafka] [mariadb] [s3]" ;;
	esac
done
((${#services[@]})) || services=(postgres kafka mariadb s3)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A pids
for s in "${services[@]}"; do
	"$LOCAL_DIR/$s-up.sh" >"$out/$s" </dev/null &
	pids[$s]=$!
done

failed=()
for s in "${services[@]}"; do
	if ! wait "${pids[$s]}"; then
		failed+=("$s")
	fi
done
if ((${#failed[@]})); then
	die "could not start: ${failed[*]} (see the messages above; stop the rest with $LOCAL_DIR/services-down.sh)"
fi

for s in "${services[@]}"; do
	lines=$(grep -E '^(YIKU|AWS)_[A-Z0-9_]+=' "$out/$s") || die "$s-up.sh printed no KEY=value line"
	while IFS= read -r line; do
		if [[ -n $shell ]]; then
			value=${line#*=}
			printf "export %s='%s'\n" "${line%%=*}" "${value//\'/\'\\\'\'}"
		else
			printf '%s\n' "$line"
		fi
	done <<<"$lines"
done
