#!/usr/bin/env bash
# Start Apache Kafka's MirrorMaker 2 (one dedicated-mode process) copying the
# record topics a district hub shares upward from the district's Kafka
# cluster to the city hub's (docs/federation.md), and print on stdout:
#
#   YIKU_TEST_MM2_DIR=<checkout>/deployments/local/.run/mirrormaker
#
# Both clusters are the ones kafka-up.sh starts (SASL_SSL, SCRAM-SHA-512): the
# process logs in to each as its super user with the client.properties that
# kafka-up.sh wrote into the cluster's directory. A replicated topic is named
# <source alias>.<topic> at the target (DefaultReplicationPolicy), so the
# city sees where a record came from; it keeps its partition, so records of
# one subject (one key, one partition) keep their order. The target side runs
# with exactly-once source support: what reaches the city topic is committed
# once, also across a restart of this process (readers use read_committed).
#
#   YIKU_MM2_SOURCE_BROKERS  the district cluster's bootstrap servers (required)
#   YIKU_MM2_TARGET_BROKERS  the city cluster's bootstrap servers (required)
#   YIKU_MM2_TOPICS          regular expression of the topics to copy
#                            (required): the district hub's record topics of
#                            the resources marked for upward sharing, as
#                            GET /api/v1/federation answers in mirror_topics;
#                            nothing else crosses
#   YIKU_MM2_SOURCE_DIR      the district cluster's directory under .run
#                            (default kafka)
#   YIKU_MM2_TARGET_DIR      the city cluster's (default kafka-city)
#   YIKU_MM2_SOURCE_ALIAS    the district cluster's alias (default district)
#   YIKU_MM2_TARGET_ALIAS    the city cluster's alias (default city)
#   YIKU_MM2_DIR             this process's directory under .run (default
#                            mirrormaker): configuration, pid file, logs;
#                            mirrormaker-down.sh takes the same variable
#   YIKU_MM2_HEAP            JVM heap options (default "-Xms128m -Xmx512m")
#
# MirrorMaker's jars come from Maven Central through mirrormaker/pom.xml into
# deployments/local/.cache/mirrormaker-libs (once; again when the pom
# changes): connect-mirror 4.1.1, the newest release published (a 4.1.1
# MirrorMaker talks to the 4.4 brokers).
set -euo pipefail
YIKU_COMPONENT=mirrormaker
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC=${YIKU_MM2_SOURCE_BROKERS:-}
DST=${YIKU_MM2_TARGET_BROKERS:-}
TOPICS=${YIKU_MM2_TOPICS:-}
[[ -n $SRC ]] || die "YIKU_MM2_SOURCE_BROKERS: set the district cluster's bootstrap servers"
[[ -n $DST ]] || die "YIKU_MM2_TARGET_BROKERS: set the city cluster's bootstrap servers"
[[ -n $TOPICS ]] || die "YIKU_MM2_TOPICS: set the regular expression of the topics to copy"
SDIR=$RUN_DIR/${YIKU_MM2_SOURCE_DIR:-kafka}
TDIR=$RUN_DIR/${YIKU_MM2_TARGET_DIR:-kafka-city}
SA=${YIKU_MM2_SOURCE_ALIAS:-district}
TA=${YIKU_MM2_TARGET_ALIAS:-city}
NAME=${YIKU_MM2_DIR:-mirrormaker}
HEAP=${YIKU_MM2_HEAP:-"-Xms128m -Xmx512m"}
for a in "$SA" "$TA" "$NAME"; do
	[[ $a =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "$a: want letters, digits, '.', '_' or '-'"
done
[[ $SA != "$TA" ]] || die "the two clusters need different aliases"
for d in "$SDIR" "$TDIR"; do
	[[ -s $d/client.properties ]] || die "$d/client.properties is missing: start that cluster with kafka-up.sh first"
done
MDIR=$RUN_DIR/$NAME
POM=$LOCAL_DIR/mirrormaker/pom.xml
LIBS=$CACHE_DIR/mirrormaker-libs
PIDFILE=$MDIR/mirrormaker.pid
OUT=$MDIR/mirrormaker.out
lock "$NAME"
mkdir -p "$MDIR/logs"

pid=$(read_pid "$PIDFILE")
if pid_matches "$pid" org.apache.kafka.connect.mirror.MirrorMaker "$MDIR/mm2.properties"; then
	log "already running (pid $pid); stop it with mirrormaker-down.sh to change its settings"
	printf 'YIKU_TEST_MM2_DIR=%s\n' "$MDIR"
	exit 0
fi

command -v java >/dev/null || apt_install openjdk-17-jre-headless
sum=$(sha256sum "$POM" | cut -d' ' -f1)
if [[ $(cat "$LIBS/.pom.sha256" 2>/dev/null) != "$sum" ]] || ! compgen -G "$LIBS/connect-mirror-*.jar" >/dev/null; then
	command -v mvn >/dev/null || apt_install maven
	log "fetching MirrorMaker's jars with Maven (log: $CACHE_DIR/mirrormaker-mvn.log)"
	mkdir -p "$CACHE_DIR"
	if ! timeout 1200 mvn -q -B -Dstyle.color=never -f "$POM" package >"$CACHE_DIR/mirrormaker-mvn.log" 2>&1 </dev/null; then
		show_log "$CACHE_DIR/mirrormaker-mvn.log"
		die "Maven could not fetch MirrorMaker's jars"
	fi
	printf '%s\n' "$sum" >"$LIBS/.pom.sha256"
fi

# The configuration: each cluster's login is its client.properties, under
# the cluster's alias; only source -> target runs.
{
	echo "# Written by deployments/local/mirrormaker-up.sh."
	echo "clusters = $SA, $TA"
	echo "$SA.bootstrap.servers = $SRC"
	echo "$TA.bootstrap.servers = $DST"
	for pair in "$SA:$SDIR" "$TA:$TDIR"; do
		grep -E '^[a-z]' "${pair#*:}/client.properties" | sed "s/^/${pair%%:*}./"
	done
	echo "$SA->$TA.enabled = true"
	echo "$TA->$SA.enabled = false"
	echo "$SA->$TA.topics = $TOPICS"
	echo "$SA->$TA.groups.exclude = .*"
	echo "$SA->$TA.sync.topic.configs.enabled = false"
	echo "$SA->$TA.sync.topic.acls.enabled = false"
	echo "$SA->$TA.sync.group.offsets.enabled = false"
	echo "$SA->$TA.refresh.topics.interval.seconds = 5"
	echo "$SA->$TA.exactly.once.support = requested"
	echo "$TA.exactly.once.source.support = enabled"
	echo "tasks.max = 1"
	# MirrorMaker's own plugins declare themselves: no class path scan.
	echo "plugin.discovery = service_load"
	# Single-broker clusters: every topic MirrorMaker makes has one replica.
	for k in replication.factor checkpoints.topic.replication.factor heartbeats.topic.replication.factor \
		offset-syncs.topic.replication.factor offset.storage.replication.factor status.storage.replication.factor \
		config.storage.replication.factor; do
		echo "$k = 1"
	done
} >"$MDIR/mm2.properties.new"
chmod 600 "$MDIR/mm2.properties.new"
mv "$MDIR/mm2.properties.new" "$MDIR/mm2.properties"

log "starting MirrorMaker 2 ($SA -> $TA, topics $TOPICS; logs: $MDIR/logs/mirrormaker.log, $OUT)"
: >"$OUT"
(
	exec {LOCK_FD}>&-
	cd "$MDIR"
	# shellcheck disable=SC2086,SC2016
	exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
		java $HEAP -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOCAL_DIR/mirrormaker/log4j2.xml" -Dmm2.logs.dir="$MDIR/logs" \
		-cp "$LIBS/*" org.apache.kafka.connect.mirror.MirrorMaker "$MDIR/mm2.properties" --clusters "$TA"
) </dev/null >>"$OUT" 2>&1 &
for _ in $(seq 1 50); do
	[[ -s $PIDFILE ]] && break
	sleep 0.1
done
pid=$(read_pid "$PIDFILE")
sleep 3
pid_matches "$pid" org.apache.kafka.connect.mirror.MirrorMaker "$MDIR/mm2.properties" || {
	show_log "$OUT"
	show_log "$MDIR/logs/mirrormaker.log"
	die "MirrorMaker exited at start"
}
log "running (pid $pid)"
printf 'YIKU_TEST_MM2_DIR=%s\n' "$MDIR"
