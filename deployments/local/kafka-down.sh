#!/usr/bin/env bash
# Stop the test Kafka broker (or, with YIKU_KAFKA_NODES=3, the three-node
# cluster) started by kafka-up.sh.
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
kafka_layout
lock "$KLOCK"

# The nodes stop together: a cluster node's controlled shutdown needs the
# controller quorum, which stopping them one by one would take away from
# the last.
stop_node() {
	local i=$1 nd pid
	nd=$(node_dir "$i")
	pid=$(read_pid "$nd/kafka.pid")
	if pid_matches "$pid" kafka.Kafka "$nd/server.properties"; then
		log "stopping node $i (pid $pid)"
		# SIGTERM runs Kafka's controlled shutdown; it takes a few seconds.
		stop_pid "$pid" kafka 60
		log "node $i stopped"
	else
		log "node $i not running"
	fi
	rm -f "$nd/kafka.pid"
}
stoppers=()
for ((i = 1; i <= NODES; i++)); do
	stop_node "$i" &
	stoppers+=($!)
done
rc=0
for p in "${stoppers[@]}"; do
	wait "$p" || rc=1
done
((rc == 0)) || die "a node did not stop"

if [[ -n $purge ]]; then
	log "deleting $KDIR"
	rm -rf "$KDIR"
fi
