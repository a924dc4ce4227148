#!/usr/bin/env bash
# Stop the test MariaDB started by mariadb-up.sh.
#   --purge   also delete its data directory (the next up starts from scratch)
set -euo pipefail
YIKU_COMPONENT=mariadb
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=
case ${1:-} in
'') ;;
--purge) purge=1 ;;
*) die "usage: $0 [--purge]" ;;
esac
lock mariadb

if is_root; then DBUSER=mysql; else DBUSER=$(id -un); fi
if id -u "$DBUSER" >/dev/null 2>&1; then
	MYROOT=$(state_dir mariadb "$DBUSER")
else
	MYROOT=$RUN_DIR/mariadb
fi
PIDFILE=$MYROOT/mariadbd.pid

pid=$(read_pid "$PIDFILE")
if pid_matches "$pid" "$MYROOT/my.cnf"; then
	log "stopping MariaDB (pid $pid)"
	# SIGTERM is a normal shutdown for mariadbd.
	stop_pid "$pid" mariadbd 60
	log "stopped"
else
	log "not running"
fi
rm -f "$PIDFILE"

if [[ -n $purge ]]; then
	log "deleting $MYROOT"
	rm -rf "$MYROOT"
	rm -f "/tmp/yiku-mariadb-$(printf '%s' "$MYROOT" | sha256sum | cut -c1-12).sock"
fi
