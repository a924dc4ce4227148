#!/usr/bin/env bash
# Stop the services started by services-up.sh (or by the single *-up.sh).
# Arguments pick services (postgres, kafka, mariadb, s3); the default is all four.
# --purge also deletes their data.
set -euo pipefail
YIKU_COMPONENT=services
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=()
services=()
for a in "$@"; do
	case $a in
	--purge) purge=(--purge) ;;
	postgres | kafka | mariadb | s3) services+=("$a") ;;
	*) die "usage: $0 [--purge] [postgres] [kafka] [mariadb] [s3]" ;;
	esac
done
((${#services[@]})) || services=(postgres kafka mariadb s3)

failed=()
for s in "${services[@]}"; do
	"$LOCAL_DIR/$s-down.sh" "${purge[@]}" </dev/null || failed+=("$s")
done
((${#failed[@]} == 0)) || die "could not stop: ${failed[*]}"
