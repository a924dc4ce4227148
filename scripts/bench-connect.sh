#!/usr/bin/env bash
# Put the library sink beside Kafka Connect: the same records, from Kafka
# into PostgreSQL, applied by the hub's library sink and by the Debezium JDBC
# sink connector on an Apache Kafka Connect worker, in the same run on this
# machine (make bench-connect). See docs/performance.md, "The library sink
# beside Kafka Connect".
#
# It starts PostgreSQL and Kafka with deployments/local (left running, as
# by make bench), fetches the Connect worker's and the connector's jars with
# Maven (once; again when a pom changes), starts a standalone Connect worker
# logged in to the broker over SASL_SSL, runs scripts/connectbench against
# both sinks and stops the worker again. Arguments go to scripts/connectbench
# (say --records 20000, --runs 1, --unnest).
#
#   YIKU_PG_PORT, YIKU_KAFKA_PORT   the services' ports (see their scripts)
#   YIKU_CONNECT_PORT    the worker's REST port on 127.0.0.1 (default 58083)
#   YIKU_CONNECT_HEAP    the worker's JVM heap options (default "-Xms256m -Xmx1g")
#
# The jars land in deployments/local/.cache/kafka-connect-libs (the worker's
# class path) and .cache/kafka-connect-plugins (its plugin.path); the
# worker's configuration, offsets file and logs in .run/kafka-connect.
set -euo pipefail
YIKU_COMPONENT=bench-connect
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=../deployments/local/lib.sh
source "$ROOT/deployments/local/lib.sh"

PORT=${YIKU_CONNECT_PORT:-58083}
check_port YIKU_CONNECT_PORT "$PORT"
HEAP=${YIKU_CONNECT_HEAP:-"-Xms256m -Xmx1g"}
CDIR=$LOCAL_DIR/kafka-connect
LIBS=$CACHE_DIR/kafka-connect-libs
PLUGINS=$CACHE_DIR/kafka-connect-plugins
PLUGIN=$PLUGINS/debezium-connector-jdbc
WDIR=$RUN_DIR/kafka-connect
PROPS=$WDIR/worker.properties
PIDFILE=$WDIR/connect.pid
OUT=$WDIR/connect.out
lock kafka-connect

# --- services -------------------------------------------------------------------
env_lines=$("$LOCAL_DIR/services-up.sh" --shell postgres kafka)
eval "$env_lines"
for v in YIKU_TEST_DATABASE_URL YIKU_TEST_KAFKA_BROKERS YIKU_TEST_KAFKA_SASL_MECHANISM YIKU_TEST_KAFKA_USERNAME \
	YIKU_TEST_KAFKA_PASSWORD_FILE YIKU_TEST_KAFKA_CA_FILE; do
	[[ -n ${!v:-} ]] || die "services-up.sh printed no $v"
done

# --- jars -------------------------------------------------------------------------
# fetch POM DIR MARKER: run the pom's copy-dependencies into DIR unless DIR
# was filled by this very pom and holds MARKER.
fetch() {
	local pom=$1 dir=$2 marker=$3 sum name
	sum=$(sha256sum "$pom" | cut -d' ' -f1)
	name=$(basename "$dir")
	if [[ $(cat "$dir/.pom.sha256" 2>/dev/null) == "$sum" ]] && compgen -G "$dir/$marker" >/dev/null; then
		return 0
	fi
	command -v mvn >/dev/null || apt_install maven
	rm -rf "$dir"
	mkdir -p "$CACHE_DIR"
	log "fetching $name with Maven into $dir"
	if ! timeout 1200 mvn -q -B -Dstyle.color=never -f "$pom" package >"$CACHE_DIR/$name-mvn.log" 2>&1 </dev/null; then
		show_log "$CACHE_DIR/$name-mvn.log"
		rm -rf "$dir"
		die "Maven could not fetch $name (is Maven Central reachable?)"
	fi
	compgen -G "$dir/$marker" >/dev/null || die "Maven ran but $dir has no $marker"
	printf '%s\n' "$sum" >"$dir/.pom.sha256"
}
fetch "$CDIR/pom.xml" "$LIBS" "connect-runtime-*.jar"
fetch "$CDIR/jdbc-sink/pom.xml" "$PLUGIN" "debezium-connector-jdbc-*.jar"

# --- the worker -------------------------------------------------------------------
# A standalone worker: sink offsets in Kafka's consumer groups, the
# worker's own (source) offsets in a file. It and its sink tasks' consumers
# log in as the hub's super user, as the library sink does in this run.
PW=$(tr -d '[:space:]' <"$YIKU_TEST_KAFKA_PASSWORD_FILE")
JAAS="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$YIKU_TEST_KAFKA_USERNAME\" password=\"$PW\";"
[[ $YIKU_TEST_KAFKA_SASL_MECHANISM == SCRAM-SHA-* ]] ||
	die "the broker's SASL mechanism is $YIKU_TEST_KAFKA_SASL_MECHANISM; this script logs the worker in with SCRAM"
mkdir -p "$WDIR/logs"
security() { # security PREFIX: the client settings, for the worker or a prefix of it
	printf '%s\n' \
		"${1}security.protocol=SASL_SSL" \
		"${1}sasl.mechanism=$YIKU_TEST_KAFKA_SASL_MECHANISM" \
		"${1}sasl.jaas.config=$JAAS" \
		"${1}ssl.truststore.type=PEM" \
		"${1}ssl.truststore.location=$YIKU_TEST_KAFKA_CA_FILE"
}
(
	umask 077
	{
		echo "# Written by scripts/bench-connect.sh on every run; edits are lost."
		echo "bootstrap.servers=$YIKU_TEST_KAFKA_BROKERS"
		security ""
		echo "# The sink tasks' consumers and the worker's admin client (dead letter topics)."
		security "consumer."
		security "admin."
		security "producer."
		echo "key.converter=org.apache.kafka.connect.json.JsonConverter"
		echo "key.converter.schemas.enable=true"
		echo "value.converter=org.apache.kafka.connect.json.JsonConverter"
		echo "value.converter.schemas.enable=true"
		echo "offset.storage.file.filename=$WDIR/offsets"
		echo "offset.flush.interval.ms=10000"
		echo "plugin.path=$PLUGINS"
		echo "# The plugins carry ServiceLoader manifests: no class-path scan at start."
		echo "plugin.discovery=service_load"
		echo "listeners=http://127.0.0.1:$PORT"
		echo "# Lets a connector set its consumer's max.poll.records (consumer.override.*)."
		echo "connector.client.config.override.policy=All"
	} >"$PROPS"
)

running() { pid_matches "$(read_pid "$PIDFILE")" ConnectStandalone "$PROPS"; }
stop_worker() {
	if running; then
		local pid
		pid=$(read_pid "$PIDFILE")
		log "stopping the Connect worker (pid $pid)"
		stop_pid "$pid" kafka-connect 60
	fi
	rm -f "$PIDFILE"
}
stop_worker
tcp_open 127.0.0.1 "$PORT" && die "port $PORT on 127.0.0.1 is taken; set YIKU_CONNECT_PORT to a free port"
trap stop_worker EXIT

log "starting Kafka Connect $(basename "$(compgen -G "$LIBS/connect-runtime-*.jar")" .jar | sed 's/connect-runtime-//') on http://127.0.0.1:$PORT (logs: $WDIR/logs/connect.log, $OUT)"
: >"$OUT"
(
	exec {LOCK_FD}>&-
	cd "$WDIR"
	# shellcheck disable=SC2086,SC2016
	exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
		java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
		-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$CDIR/log4j2.xml" -Dkafka.logs.dir="$WDIR/logs" \
		-cp "$LIBS/*" org.apache.kafka.connect.cli.ConnectStandalone "$PROPS"
) </dev/null >>"$OUT" 2>&1 &
for _ in $(seq 1 50); do
	[[ -s $PIDFILE ]] && break
	sleep 0.1
done
deadline=$((SECONDS + 180))
until curl -fsS "http://127.0.0.1:$PORT/connector-plugins" 2>/dev/null | grep -q JdbcSinkConnector; do
	if ! running; then
		show_log "$OUT"
		show_log "$WDIR/logs/connect.log"
		die "the Connect worker exited during start"
	fi
	if ((SECONDS >= deadline)); then
		show_log "$WDIR/logs/connect.log"
		die "the Connect worker did not list the JDBC sink connector within 180s"
	fi
	sleep 1
done
pid=$(read_pid "$PIDFILE")
log "the worker (pid $pid) lists the Debezium JDBC sink connector"

# --- the comparison ---------------------------------------------------------------
kafka_pid=$(read_pid "$RUN_DIR/kafka/kafka.pid")
cd "$ROOT"
go run ./scripts/connectbench \
	--kafka-pid "${kafka_pid:-0}" \
	--database-url "$YIKU_TEST_DATABASE_URL" \
	--kafka-brokers "$YIKU_TEST_KAFKA_BROKERS" \
	--kafka-sasl-mechanism "$YIKU_TEST_KAFKA_SASL_MECHANISM" \
	--kafka-username "$YIKU_TEST_KAFKA_USERNAME" \
	--kafka-password-file "$YIKU_TEST_KAFKA_PASSWORD_FILE" \
	--kafka-ca-file "$YIKU_TEST_KAFKA_CA_FILE" \
	--connect-url "http://127.0.0.1:$PORT" --connect-pid "$pid" "$@"
