#!/usr/bin/env bash
# Stop the test Kafka broker started by kafka-up.sh.
#   --purge   also delete its topics, logs, certificates and passwords (the
#             next up makes new ones and formats afresh)
set -euo pipefail
YIKU_COMPONENT=kafka
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=
case ${1:-} in
'') ;;
--purge) purge=1 ;;
*) die "usage: $0 [--purge]" ;;
esac
lock kafka

KDIR=$RUN_DIR/kafka
PIDFILE=$KDIR/kafka.pid
pid=$(read_pid "$PIDFILE")
if pid_matches "$pid" kafka.Kafka "$KDIR/server.properties"; then
	log "stopping broker (pid $pid)"
	# SIGTERM runs Kafka's controlled shutdown; a single node needs a few seconds.
	stop_pid "$pid" kafka 60
	log "stopped"
else
	log "not running"
fi
rm -f "$PIDFILE"

if [[ -n $purge ]]; then
	log "deleting $KDIR"
	rm -rf "$KDIR"
fi
