#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# for tests and print YIKU_TEST_KAFKA_BROKERS on stdout.
#
#   YIKU_KAFKA_PORT   client port on 127.0.0.1 (default 59092); the controller
#                     listens on the next port up
#   YIKU_KAFKA_HEAP   JVM heap options (default "-Xms256m -Xmx1g")
#   YIKU_KAFKA_WAIT   seconds to wait for the broker to answer (default 90)
#
# Kafka's jars come from Maven Central through kafka/pom.xml into
# deployments/local/.cache/kafka-libs (once; again when the pom changes).
# Broker data and logs live in deployments/local/.run/kafka.
set -euo pipefail
YIKU_COMPONENT=kafka
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=${YIKU_KAFKA_PORT:-59092}
check_port YIKU_KAFKA_PORT "$PORT"
CPORT=$((PORT + 1))
HEAP=${YIKU_KAFKA_HEAP:-"-Xms256m -Xmx1g"}
WAIT=${YIKU_KAFKA_WAIT:-90}
[[ $WAIT =~ ^[0-9]+$ ]] || die "YIKU_KAFKA_WAIT=$WAIT is not a number of seconds"
BROKERS=127.0.0.1:$PORT

POM=$LOCAL_DIR/kafka/pom.xml
LIBS=$CACHE_DIR/kafka-libs
KDIR=$RUN_DIR/kafka
PROPS=$KDIR/server.properties
PIDFILE=$KDIR/kafka.pid
OUT=$KDIR/kafka.out
lock kafka

# --- tools: Java 17+, Maven, kcat -------------------------------------------
if ! command -v java >/dev/null; then
	apt_install openjdk-17-jre-headless
fi
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if ! [[ ${java_major%%.*} =~ ^[0-9]+$ ]] || ((${java_major%%.*} < 17)); then
	die "Kafka 4 needs Java 17 or newer; 'java' here is ${java_major:-unknown}"
fi
if ! command -v kcat >/dev/null && is_root; then
	apt_install kcat
fi

# --- jars ---------------------------------------------------------------------
pom_sum=$(sha256sum "$POM" | cut -d' ' -f1)
if [[ $(cat "$LIBS/.pom.sha256" 2>/dev/null) != "$pom_sum" ]] || ! compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
	if ! command -v mvn >/dev/null; then
		apt_install maven
	fi
	mkdir -p "$CACHE_DIR"
	rm -rf "$LIBS"
	log "fetching Kafka jars with Maven into $LIBS (the first run downloads about 65 MB into ~/.m2)"
	start=$SECONDS
	if ! timeout 1200 mvn -q -B -Dstyle.color=never -f "$POM" package >"$CACHE_DIR/kafka-mvn.log" 2>&1 </dev/null; then
		show_log "$CACHE_DIR/kafka-mvn.log"
		rm -rf "$LIBS"
		die "Maven could not fetch the Kafka jars (is Maven Central reachable?)"
	fi
	compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null || die "Maven ran but $LIBS has no kafka_2.13 jar"
	printf '%s\n' "$pom_sum" >"$LIBS/.pom.sha256"
	log "jars ready in $((SECONDS - start))s"
fi
KAFKA_VERSION=$(basename "$(compgen -G "$LIBS/kafka_2.13-*.jar" | head -n1)" .jar)
KAFKA_VERSION=${KAFKA_VERSION#kafka_2.13-}
CP="$LIBS/*"

# --- running already? ---------------------------------------------------------
running() { pid_matches "$(read_pid "$PIDFILE")" kafka.Kafka "$PROPS"; }

stop_broker() {
	local pid
	pid=$(read_pid "$PIDFILE")
	log "stopping broker (pid $pid)"
	stop_pid "$pid" kafka 60
	rm -f "$PIDFILE"
}

if running; then
	if ! grep -qx "listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT" "$PROPS"; then
		for p in "$PORT" "$CPORT"; do
			tcp_open 127.0.0.1 "$p" &&
				die "port $p on 127.0.0.1 is already taken by another process; set YIKU_KAFKA_PORT to a free port"
		done
		log "running with other ports than YIKU_KAFKA_PORT=$PORT: restarting"
		stop_broker
	elif [[ $(cat "$KDIR/version" 2>/dev/null) != "$KAFKA_VERSION" ]]; then
		log "running Kafka $(cat "$KDIR/version" 2>/dev/null), but the jars are now $KAFKA_VERSION: restarting"
		stop_broker
	else
		log "already running (pid $(read_pid "$PIDFILE"))"
	fi
elif [[ -e $PIDFILE ]]; then
	log "removing stale pid file $PIDFILE (pid $(read_pid "$PIDFILE") is not our broker)"
	rm -f "$PIDFILE"
fi

# --- configure, format and start ---------------------------------------------
if ! running; then
	mkdir -p "$KDIR/logs"
	# KRaft combined mode with a static one-voter quorum: nothing about the
	# ports is stored in the metadata log, so YIKU_KAFKA_PORT may change freely.
	cat >"$PROPS" <<-EOF
		# Written by deployments/local/kafka-up.sh on every start; edits are lost.
		process.roles=broker,controller
		node.id=1
		controller.quorum.voters=1@127.0.0.1:$CPORT
		listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
		advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
		inter.broker.listener.name=PLAINTEXT
		controller.listener.names=CONTROLLER
		listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
		log.dirs=$KDIR/data

		# One broker: every internal topic has a single replica.
		offsets.topic.replication.factor=1
		offsets.topic.num.partitions=10
		transaction.state.log.replication.factor=1
		transaction.state.log.min.isr=1
		transaction.state.log.num.partitions=10
		share.coordinator.state.topic.replication.factor=1
		share.coordinator.state.topic.min.isr=1
		default.replication.factor=1
		min.insync.replicas=1

		# Test-friendly defaults.
		auto.create.topics.enable=true
		num.partitions=3
		group.initial.rebalance.delay.ms=0
		delete.topic.enable=true
		log.retention.hours=24
		# Tests delete their topics when they end; free the files at once
		# rather than after the default minute, so a long suite does not
		# run the broker out of file descriptors.
		log.segment.delete.delay.ms=1000
	EOF

	# Storage formatted by a newer Kafka cannot be read by an older one.
	formatted_by=$(cat "$KDIR/formatted-by" 2>/dev/null || true)
	if [[ -f $KDIR/data/meta.properties && -n $formatted_by && $formatted_by != "$KAFKA_VERSION" &&
		$(printf '%s\n%s\n' "$formatted_by" "$KAFKA_VERSION" | sort -V | tail -n1) == "$formatted_by" ]]; then
		log "storage was formatted by Kafka $formatted_by, newer than $KAFKA_VERSION: wiping test data"
		rm -rf "$KDIR/data"
	fi
	if [[ ! -f $KDIR/data/meta.properties ]]; then
		rm -rf "$KDIR/data"
		if [[ ! -s $KDIR/cluster.id ]]; then
			java -cp "$CP" kafka.tools.StorageTool random-uuid >"$KDIR/cluster.id" 2>"$KDIR/format.log" || {
				show_log "$KDIR/format.log"
				die "kafka-storage random-uuid failed"
			}
		fi
		cluster_id=$(tr -d '[:space:]' <"$KDIR/cluster.id")
		log "formatting storage in $KDIR/data (cluster id $cluster_id)"
		if ! java -cp "$CP" -Dlog4j2.configurationFile="$LOCAL_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$KDIR/logs" \
			kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$KDIR/format.log" 2>&1; then
			show_log "$KDIR/format.log"
			rm -rf "$KDIR/data"
			die "kafka-storage format failed"
		fi
		printf '%s\n' "$KAFKA_VERSION" >"$KDIR/formatted-by"
	fi

	for p in "$PORT" "$CPORT"; do
		if tcp_open 127.0.0.1 "$p"; then
			die "port $p on 127.0.0.1 is already taken by another process; set YIKU_KAFKA_PORT to a free port (it uses that port and the next)"
		fi
	done

	log "starting Kafka $KAFKA_VERSION on $BROKERS (controller :$CPORT; logs: $KDIR/logs/server.log, $OUT)"
	printf '%s\n' "$KAFKA_VERSION" >"$KDIR/version"
	: >"$OUT"
	# The broker runs in its own session so it outlives this script and CI
	# step; the inner shell records its own pid, which exec hands to java.
	# The lock's descriptor is closed first, or the broker would hold the lock.
	(
		exec {LOCK_FD}>&-
		cd "$KDIR"
		# Every partition keeps several files open; raise the soft limit to
		# the hard one so a suite that creates many topics cannot exhaust it.
		ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
		# shellcheck disable=SC2086,SC2016
		exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
			java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
			-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
			-Dlog4j2.configurationFile="$LOCAL_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$KDIR/logs" \
			-cp "$CP" kafka.Kafka "$PROPS"
	) </dev/null >>"$OUT" 2>&1 &
	for _ in $(seq 1 50); do
		[[ -s $PIDFILE ]] && break
		sleep 0.1
	done
fi

# --- wait until it answers metadata requests -----------------------------------

# metadata_probe: a Kafka Metadata request (v4, no topics) over bash's
# /dev/tcp; true when the reply lists at least one broker. Used without kcat.
metadata_probe() {
	local reply
	# shellcheck disable=SC2016 # $1 is for the inner shell
	reply=$(timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		# size=19 | api_key=3 api_version=4 correlation_id=42 client_id="yiku" | topics=[] allow_auto_create=false
		printf "\x00\x00\x00\x13\x00\x03\x00\x04\x00\x00\x00\x2a\x00\x04yiku\x00\x00\x00\x00\x00" >&3
		head -c 16 <&3 | od -An -tx1 | tr -d " \n"
	' _ "$PORT" 2>/dev/null) || return 1
	# size(4) | correlation_id=42 | throttle_time_ms(4) | broker count(4)
	[[ ${#reply} -eq 32 && ${reply:8:8} == 0000002a && $((16#${reply:24:8})) -ge 1 ]]
}
answers() {
	if command -v kcat >/dev/null; then
		kcat -b "$BROKERS" -L -m 3 2>/dev/null | grep -q "broker 1 at 127.0.0.1:$PORT"
	else
		tcp_open 127.0.0.1 "$PORT" && metadata_probe
	fi
}

deadline=$((SECONDS + WAIT))
until answers; do
	if ! running; then
		show_log "$OUT"
		show_log "$KDIR/logs/server.log"
		die "the broker exited during start"
	fi
	if ((SECONDS >= deadline)); then
		show_log "$OUT"
		show_log "$KDIR/logs/server.log"
		die "the broker did not answer on $BROKERS within ${WAIT}s (it is still running; see the logs above, or stop it with kafka-down.sh)"
	fi
	sleep 1
done

log "ready: Kafka $KAFKA_VERSION on $BROKERS (pid $(read_pid "$PIDFILE"))"
printf 'YIKU_TEST_KAFKA_BROKERS=%s\n' "$BROKERS"
