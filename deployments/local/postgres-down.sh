#!/usr/bin/env bash
# Stop the test PostgreSQL started by postgres-up.sh.
#   --purge   also delete its data directory (the next up starts from scratch)
set -euo pipefail
YIKU_COMPONENT=postgres
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=
case ${1:-} in
'') ;;
--purge) purge=1 ;;
*) die "usage: $0 [--purge]" ;;
esac
lock postgres

if is_root; then PGUSER_OS=postgres; else PGUSER_OS=$(id -un); fi
if id -u "$PGUSER_OS" >/dev/null 2>&1; then
	PGROOT=$(state_dir pg "$PGUSER_OS")
else
	PGROOT=$RUN_DIR/pg
fi
PGDATA=$PGROOT/data

pid=$(read_pid "$PGDATA/postmaster.pid")
if pid_matches "$pid" postgres "$PGDATA"; then
	log "stopping PostgreSQL (pid $pid)"
	# SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "still running after 30s; sending SIGQUIT (immediate shutdown)"
		kill -QUIT "$pid" 2>/dev/null || true
		stop_pid "$pid" PostgreSQL 10
	fi
	log "stopped"
else
	[[ -e $PGDATA/postmaster.pid ]] && rm -f "$PGDATA/postmaster.pid"
	log "not running"
fi

if [[ -n $purge ]]; then
	log "deleting $PGROOT"
	rm -rf "$PGROOT"
fi
