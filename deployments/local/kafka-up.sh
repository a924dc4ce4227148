#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft, broker+controller in one JVM),
# or with YIKU_KAFKA_NODES=3 a three-node cluster, for tests, secured as
# production is, and print on stdout the lines tests read:
#
#   YIKU_TEST_KAFKA_BROKERS=127.0.0.1:59092
#   YIKU_TEST_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
#   YIKU_TEST_KAFKA_USERNAME=yiku
#   YIKU_TEST_KAFKA_PASSWORD_FILE=<checkout>/deployments/local/.run/kafka/sasl/yiku.password
#   YIKU_TEST_KAFKA_CA_FILE=<checkout>/deployments/local/.run/kafka/tls/ca.crt
#
# (A cluster lists its three brokers, keeps its files in .run/kafka-cluster
# and adds YIKU_TEST_KAFKA_NODE_DIRS, the nodes' directories in node order.)
#
# The client port speaks SASL_SSL only (SCRAM-SHA-512 over TLS 1.2+), and the
# StandardAuthorizer denies whatever no ACL allows. User:yiku is a super user:
# the hub logs in as it to create topics, ACLs and other principals' SCRAM
# credentials. The SCRAM credentials are written into the cluster metadata
# when the storage is formatted (kafka-storage format --add-scram).
# The super user may also log in with PLAIN (over the same TLS): kcat on
# Debian 12 (librdkafka 2.0.2) cannot do SCRAM against Kafka 4 (librdkafka
# fixed its SCRAM nonce in 2.6.1), and this script waits for the broker and
# checks it with kcat. No other user has a PLAIN password.
# The controller listener speaks TLS and requires a client certificate from
# this script's CA, which only the broker itself holds: no anonymous client
# reaches it, let alone with super-user powers.
# The CA, the broker's certificate (SAN 127.0.0.1 and localhost) and the
# passwords are generated on the first start into .run/kafka/tls and
# .run/kafka/sasl; .run/kafka/client.properties is the super user's login for
# Kafka's own tools (--command-config).
#
#   YIKU_KAFKA_PORT   client port on 127.0.0.1 (default 59092); the controller
#                     listens on the next port up
#   YIKU_KAFKA_NODES  1 (default) or 3: how many KRaft nodes to run. Three
#                     nodes are a real cluster (each one broker + controller
#                     of a three-voter quorum): node i (1..3) takes the client
#                     port YIKU_KAFKA_PORT+2(i-1) and the controller port one
#                     up, so 59192..59197 by default (beside the single
#                     broker's 59092 and 59093); topics default to
#                     replication factor 3 and min.insync.replicas=2.
#   YIKU_KAFKA_HEAP   JVM heap options per node (default "-Xms256m -Xmx1g",
#                     "-Xms192m -Xmx512m" per node of a three-node cluster)
#   YIKU_KAFKA_WAIT   seconds to wait for the broker to answer (default 90)
#   YIKU_KAFKA_DIR    a directory name under .run for this broker or cluster
#                     (default kafka, or kafka-cluster for three nodes): a
#                     second cluster with its own CA, passwords and data, e.g.
#                     YIKU_KAFKA_DIR=kafka-city YIKU_KAFKA_PORT=59292 for the
#                     federation test's city broker; kafka-down.sh takes the
#                     same variable
#
# Kafka's jars come from Maven Central through kafka/pom.xml into
# deployments/local/.cache/kafka-libs (once; again when the pom changes).
# Broker data and logs live in deployments/local/.run/kafka (one node) or
# deployments/local/.run/kafka-cluster/node-<i> (three nodes; the cluster has
# its own CA and passwords in .run/kafka-cluster). YIKU_KAFKA_NODES=3
# kafka-down.sh stops the cluster.
set -euo pipefail
YIKU_COMPONENT=kafka
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kafka_layout
# A cluster defaults to other ports than the single broker, so both can run.
if ((NODES == 1)); then PORT=${YIKU_KAFKA_PORT:-59092}; else PORT=${YIKU_KAFKA_PORT:-59192}; fi
check_port YIKU_KAFKA_PORT "$PORT"
check_port YIKU_KAFKA_PORT "$((PORT + 2 * NODES - 1))"
if ((NODES == 1)); then
	HEAP=${YIKU_KAFKA_HEAP:-"-Xms256m -Xmx1g"}
else
	HEAP=${YIKU_KAFKA_HEAP:-"-Xms192m -Xmx512m"}
fi
WAIT=${YIKU_KAFKA_WAIT:-90}
[[ $WAIT =~ ^[0-9]+$ ]] || die "YIKU_KAFKA_WAIT=$WAIT is not a number of seconds"
# Node i's client and controller ports.
cport() { echo $((PORT + 2 * ($1 - 1))); }
ccport() { echo $((PORT + 2 * ($1 - 1) + 1)); }
BROKERS=
VOTERS=
for ((i = 1; i <= NODES; i++)); do
	BROKERS+=${BROKERS:+,}127.0.0.1:$(cport "$i")
	VOTERS+=${VOTERS:+,}$i@127.0.0.1:$(ccport "$i")
done
# Internal topics and the default for topics: replicated three times on a
# cluster, at least two replicas in sync for a write.
if ((NODES == 1)); then RF=1 MINISR=1; else RF=3 MINISR=2; fi

POM=$LOCAL_DIR/kafka/pom.xml
LIBS=$CACHE_DIR/kafka-libs
TLS_DIR=$KDIR/tls
SASL_DIR=$KDIR/sasl
CA_CRT=$TLS_DIR/ca.crt
MECHANISM=SCRAM-SHA-512
# The hub's admin (a super user) and the broker's own inter-broker login.
ADMIN_USER=yiku
ADMIN_PW_FILE=$SASL_DIR/$ADMIN_USER.password
BROKER_USER=yiku-broker
BROKER_PW_FILE=$SASL_DIR/$BROKER_USER.password
# The subject of the broker's certificate: its principal on the controller
# listener is User:$BROKER_DN.
BROKER_DN="CN=yiku-test-kafka-broker"
lock "$KLOCK"

# --- tools: Java 17+, Maven, kcat, openssl --------------------------------------
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
if ! command -v openssl >/dev/null; then
	apt_install openssl
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

# --- certificates and passwords (made once) --------------------------------------
mkdir -p "$KDIR"
(umask 077 && mkdir -p "$TLS_DIR" "$SASL_DIR")
# A CA of this checkout, and the broker's key and certificate as one PEM
# keystore (key first, then the certificate) as Kafka reads it. The broker
# certificate serves both ends of the controller connection, so it is for
# server and client authentication. Made again, with a new CA, when missing
# or when it expires within a week.
if [[ ! -s $TLS_DIR/broker.pem || ! -s $CA_CRT ]] ||
	! openssl x509 -checkend 604800 -noout -in "$TLS_DIR/broker.crt" >/dev/null 2>&1; then
	log "creating a test CA and the broker's certificate in $TLS_DIR"
	rm -f "$TLS_DIR"/*
	# (Chained with &&: errexit does not apply inside an if condition.)
	if ! (
		umask 077 &&
			openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=Yiku local test Kafka CA" \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
				-keyout "$TLS_DIR/ca.key" -out "$CA_CRT" &&
			openssl req -newkey rsa:2048 -nodes -sha256 -subj "/$BROKER_DN" \
				-keyout "$TLS_DIR/broker.key" -out "$TLS_DIR/broker.csr" &&
			printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$TLS_DIR/broker.ext" &&
			openssl x509 -req -sha256 -days 825 -in "$TLS_DIR/broker.csr" -CA "$CA_CRT" -CAkey "$TLS_DIR/ca.key" \
				-CAcreateserial -extfile "$TLS_DIR/broker.ext" -out "$TLS_DIR/broker.crt" &&
			openssl pkcs8 -topk8 -nocrypt -in "$TLS_DIR/broker.key" -out "$TLS_DIR/broker.pk8" &&
			cat "$TLS_DIR/broker.pk8" "$TLS_DIR/broker.crt" >"$TLS_DIR/broker.pem" &&
			rm -f "$TLS_DIR/broker.csr" "$TLS_DIR/broker.ext" "$TLS_DIR/broker.pk8"
	) >"$KDIR/openssl.log" 2>&1; then
		show_log "$KDIR/openssl.log"
		rm -f "$TLS_DIR"/*
		die "openssl could not create the test certificates"
	fi
	chmod 644 "$CA_CRT"
fi
for f in "$ADMIN_PW_FILE" "$BROKER_PW_FILE"; do
	if [[ ! -s $f ]]; then
		(umask 077 && openssl rand -hex 24 >"$f")
	fi
done
ADMIN_PW=$(tr -d '[:space:]' <"$ADMIN_PW_FILE")
BROKER_PW=$(tr -d '[:space:]' <"$BROKER_PW_FILE")
[[ $ADMIN_PW =~ ^[0-9a-zA-Z._-]+$ && $BROKER_PW =~ ^[0-9a-zA-Z._-]+$ ]] ||
	die "the passwords in $SASL_DIR must be letters, digits, '.', '_' or '-' (delete the files to make new ones)"
# The SCRAM credentials live in the cluster metadata, written at format
# time: storage formatted for other passwords (or before SASL) is wiped.
SCRAM_ID=$(printf '%s\n' "$ADMIN_USER:$ADMIN_PW" "$BROKER_USER:$BROKER_PW" | sha256sum | cut -c1-16)
CERT_ID=$(openssl x509 -noout -fingerprint -sha256 -in "$TLS_DIR/broker.crt" | sed 's/.*=//; s/://g' | cut -c1-16)

# Kafka's own tools log in as the super user with --command-config this file.
(
	umask 077
	cat >"$KDIR/client.properties" <<-EOF
		# Written by deployments/local/kafka-up.sh: the super user's login.
		security.protocol=SASL_SSL
		sasl.mechanism=$MECHANISM
		sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$ADMIN_PW";
		ssl.truststore.type=PEM
		ssl.truststore.location=$CA_CRT
	EOF
)
# kcat logs in with PLAIN (see the top of this file).
KCAT_LOGIN=(-X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X "sasl.username=$ADMIN_USER"
	-X "sasl.password=$ADMIN_PW" -X "ssl.ca.location=$CA_CRT")

# --- the brokers' configuration ---------------------------------------------------
# KRaft combined mode with a static quorum (one voter, or three): nothing
# about the ports is stored in the metadata log, so YIKU_KAFKA_PORT may
# change freely. Rendered on every run; a running node started with another
# file is restarted. The comment line ties it to the certificate and the
# passwords.
render_props() { # render_props NODE
	local id=$1 nd port cp
	nd=$(node_dir "$id")
	port=$(cport "$id")
	cp=$(ccport "$id")
	cat <<-EOF
		# Written by deployments/local/kafka-up.sh on every start; edits are lost.
		# certificate $CERT_ID, credentials $SCRAM_ID
		process.roles=broker,controller
		node.id=$id
		controller.quorum.voters=$VOTERS
		listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cp
		advertised.listeners=SASL_SSL://127.0.0.1:$port
		inter.broker.listener.name=SASL_SSL
		controller.listener.names=CONTROLLER
		listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL
		log.dirs=$nd/data

		# Clients: SCRAM-SHA-512 over TLS; PLAIN (over TLS too) for the super
		# user alone, for kcat. The broker's inter-broker login is $BROKER_USER.
		sasl.enabled.mechanisms=$MECHANISM,PLAIN
		sasl.mechanism.inter.broker.protocol=$MECHANISM
		listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="$BROKER_PW";
		listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$ADMIN_USER="$ADMIN_PW";
		ssl.keystore.type=PEM
		ssl.keystore.location=$TLS_DIR/broker.pem
		ssl.truststore.type=PEM
		ssl.truststore.location=$CA_CRT
		ssl.enabled.protocols=TLSv1.3,TLSv1.2
		# The controller listener takes only certificates of this CA, which
		# only the brokers hold: their principal there is User:$BROKER_DN.
		listener.name.controller.ssl.client.auth=required

		# Authorisation: deny unless an ACL allows. Super users: the hub's
		# admin, the brokers' inter-broker login and their certificate.
		authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
		allow.everyone.if.no.acl.found=false
		super.users=User:$ADMIN_USER;User:$BROKER_USER;User:$BROKER_DN

		# $NODES node(s): internal topics and topics without their own
		# settings get $RF replica(s), and a write needs $MINISR in sync.
		offsets.topic.replication.factor=$RF
		offsets.topic.num.partitions=10
		transaction.state.log.replication.factor=$RF
		transaction.state.log.min.isr=$MINISR
		transaction.state.log.num.partitions=10
		share.coordinator.state.topic.replication.factor=$RF
		share.coordinator.state.topic.min.isr=$MINISR
		default.replication.factor=$RF
		min.insync.replicas=$MINISR

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
}

# --- running already? ---------------------------------------------------------
pidfile() { printf '%s/kafka.pid\n' "$(node_dir "$1")"; }
propsfile() { printf '%s/server.properties\n' "$(node_dir "$1")"; }
running() { pid_matches "$(read_pid "$(pidfile "$1")")" kafka.Kafka "$(propsfile "$1")"; }

stop_node() {
	local pid
	pid=$(read_pid "$(pidfile "$1")")
	log "stopping node $1 (pid $pid)"
	stop_pid "$pid" kafka 60
	rm -f "$(pidfile "$1")"
}

for ((i = 1; i <= NODES; i++)); do
	nd=$(node_dir "$i")
	props=$(propsfile "$i")
	want=$(render_props "$i")
	port=$(cport "$i")
	cp=$(ccport "$i")
	if running "$i"; then
		if ! grep -q '^listeners=SASL_SSL://' "$props"; then
			log "node $i runs without SASL_SSL (started by an older kafka-up.sh): restarting secured"
			stop_node "$i"
		elif ! grep -qx "listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cp" "$props"; then
			for p in "$port" "$cp"; do
				tcp_open 127.0.0.1 "$p" &&
					die "port $p on 127.0.0.1 is already taken by another process; set YIKU_KAFKA_PORT to a free port"
			done
			log "node $i runs with other ports than YIKU_KAFKA_PORT=$PORT: restarting"
			stop_node "$i"
		elif [[ $(cat "$nd/version" 2>/dev/null) != "$KAFKA_VERSION" ]]; then
			log "node $i runs Kafka $(cat "$nd/version" 2>/dev/null), but the jars are now $KAFKA_VERSION: restarting"
			stop_node "$i"
		elif [[ $(cat "$props") != "$want" ]]; then
			log "node $i runs with another configuration (settings, certificate or passwords changed): restarting"
			stop_node "$i"
		else
			log "node $i already running (pid $(read_pid "$(pidfile "$i")"))"
		fi
	elif [[ -e $(pidfile "$i") ]]; then
		log "removing stale pid file $(pidfile "$i") (pid $(read_pid "$(pidfile "$i")") is not our broker)"
		rm -f "$(pidfile "$i")"
	fi
done

# --- configure, format and start ---------------------------------------------
start_node() { # start_node NODE: format its storage if needed and start it
	local id=$1 nd props want out formatted_by cluster_id p
	nd=$(node_dir "$id")
	props=$(propsfile "$id")
	want=$(render_props "$id")
	out=$nd/kafka.out
	mkdir -p "$nd/logs"
	(umask 077 && printf '%s\n' "$want" >"$props")

	# Storage formatted by a newer Kafka cannot be read by an older one.
	formatted_by=$(cat "$nd/formatted-by" 2>/dev/null || true)
	if [[ -f $nd/data/meta.properties && -n $formatted_by && $formatted_by != "$KAFKA_VERSION" &&
		$(printf '%s\n%s\n' "$formatted_by" "$KAFKA_VERSION" | sort -V | tail -n1) == "$formatted_by" ]]; then
		log "node $id: storage was formatted by Kafka $formatted_by, newer than $KAFKA_VERSION: wiping test data"
		rm -rf "$nd/data"
	fi
	# The SCRAM users exist only if the storage was formatted with them.
	if [[ -f $nd/data/meta.properties && $(cat "$nd/formatted-scram" 2>/dev/null) != "$SCRAM_ID" ]]; then
		log "node $id: storage was formatted without the current SCRAM users (before SASL, or the passwords changed): wiping test data"
		rm -rf "$nd/data"
	fi
	# Every node of a cluster is formatted with the same cluster id.
	if [[ -f $nd/data/meta.properties ]] && ! grep -qx "cluster.id=$(tr -d '[:space:]' <"$KDIR/cluster.id" 2>/dev/null)" "$nd/data/meta.properties"; then
		log "node $id: storage belongs to another cluster id: wiping test data"
		rm -rf "$nd/data"
	fi
	if [[ ! -f $nd/data/meta.properties ]]; then
		rm -rf "$nd/data"
		if [[ ! -s $KDIR/cluster.id ]]; then
			java -cp "$CP" kafka.tools.StorageTool random-uuid >"$KDIR/cluster.id" 2>"$nd/format.log" || {
				show_log "$nd/format.log"
				die "kafka-storage random-uuid failed"
			}
		fi
		cluster_id=$(tr -d '[:space:]' <"$KDIR/cluster.id")
		log "node $id: formatting storage in $nd/data (cluster id $cluster_id) with the SCRAM users $ADMIN_USER and $BROKER_USER"
		if ! java -cp "$CP" -Dlog4j2.configurationFile="$LOCAL_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$nd/logs" \
			kafka.tools.StorageTool format -t "$cluster_id" -c "$props" \
			--add-scram "$MECHANISM=[name=$ADMIN_USER,password=$ADMIN_PW]" \
			--add-scram "$MECHANISM=[name=$BROKER_USER,password=$BROKER_PW]" >>"$nd/format.log" 2>&1; then
			show_log "$nd/format.log"
			rm -rf "$nd/data"
			die "kafka-storage format failed"
		fi
		printf '%s\n' "$KAFKA_VERSION" >"$nd/formatted-by"
		printf '%s\n' "$SCRAM_ID" >"$nd/formatted-scram"
	fi

	for p in "$(cport "$id")" "$(ccport "$id")"; do
		if tcp_open 127.0.0.1 "$p"; then
			die "port $p on 127.0.0.1 is already taken by another process; set YIKU_KAFKA_PORT to a free port (node $id uses $(cport "$id") and the next)"
		fi
	done

	log "starting Kafka $KAFKA_VERSION node $id on 127.0.0.1:$(cport "$id"), SASL_SSL (controller :$(ccport "$id"); logs: $nd/logs/server.log, $out)"
	printf '%s\n' "$KAFKA_VERSION" >"$nd/version"
	: >"$out"
	# The broker runs in its own session so it outlives this script and CI
	# step; the inner shell records its own pid, which exec hands to java.
	# The lock's descriptor is closed first, or the broker would hold the lock.
	(
		exec {LOCK_FD}>&-
		cd "$nd"
		# Every partition keeps several files open; raise the soft limit to
		# the hard one so a suite that creates many topics cannot exhaust it.
		ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
		# shellcheck disable=SC2086,SC2016
		exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(pidfile "$id")" \
			java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
			-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
			-Dlog4j2.configurationFile="$LOCAL_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$nd/logs" \
			-cp "$CP" kafka.Kafka "$props"
	) </dev/null >>"$out" 2>&1 &
	for _ in $(seq 1 50); do
		[[ -s $(pidfile "$id") ]] && break
		sleep 0.1
	done
}

started=
for ((i = 1; i <= NODES; i++)); do
	if ! running "$i"; then
		started=1
		start_node "$i"
	fi
done

# --- wait until it answers the super user -------------------------------------
# With kcat: a metadata request over SASL_SSL as the super user that lists
# every node as a broker. Without it (not root, kcat not installed): a TLS
# handshake with each node that checks its certificate against the CA, which
# proves the listeners are up but not SASL.
answers() {
	local i md
	if command -v kcat >/dev/null; then
		md=$(kcat -b "$BROKERS" "${KCAT_LOGIN[@]}" -L -m 3 2>/dev/null) || return 1
		for ((i = 1; i <= NODES; i++)); do
			grep -q "broker $i at 127.0.0.1:$(cport "$i")" <<<"$md" || return 1
		done
	else
		for ((i = 1; i <= NODES; i++)); do
			tcp_open 127.0.0.1 "$(cport "$i")" &&
				timeout 5 openssl s_client -connect "127.0.0.1:$(cport "$i")" -CAfile "$CA_CRT" -verify_return_error -brief </dev/null >/dev/null 2>&1 ||
				return 1
		done
	fi
}

deadline=$((SECONDS + WAIT))
until answers; do
	for ((i = 1; i <= NODES; i++)); do
		if ! running "$i"; then
			show_log "$(node_dir "$i")/kafka.out"
			show_log "$(node_dir "$i")/logs/server.log"
			die "node $i exited during start"
		fi
	done
	if ((SECONDS >= deadline)); then
		for ((i = 1; i <= NODES; i++)); do
			show_log "$(node_dir "$i")/kafka.out"
			show_log "$(node_dir "$i")/logs/server.log"
		done
		die "the brokers did not all answer on $BROKERS within ${WAIT}s (they are still running; see the logs above, or stop them with kafka-down.sh)"
	fi
	sleep 1
done

# A broker this run started must refuse clients that do not log in.
if [[ -n $started ]] && command -v kcat >/dev/null; then
	if kcat -b "$BROKERS" -L -m 3 >/dev/null 2>&1; then
		die "the broker answered a PLAINTEXT client without login on $BROKERS; check $(propsfile 1)"
	fi
	if kcat -b "$BROKERS" -X security.protocol=SSL -X "ssl.ca.location=$CA_CRT" -L -m 3 >/dev/null 2>&1; then
		die "the broker answered a TLS client without SASL login on $BROKERS; check $(propsfile 1)"
	fi
	if kcat -b "$BROKERS" "${KCAT_LOGIN[@]}" -X "sasl.password=wrong-$ADMIN_PW" -L -m 3 >/dev/null 2>&1; then
		die "the broker answered a wrong password on $BROKERS; check $(propsfile 1)"
	fi
fi

pids=
for ((i = 1; i <= NODES; i++)); do
	pids+=${pids:+, }$(read_pid "$(pidfile "$i")")
done
log "ready: Kafka $KAFKA_VERSION on $BROKERS ($NODES node(s)), SASL_SSL $MECHANISM, super user $ADMIN_USER (pid $pids)"
printf '%s\n' \
	"YIKU_TEST_KAFKA_BROKERS=$BROKERS" \
	"YIKU_TEST_KAFKA_SASL_MECHANISM=$MECHANISM" \
	"YIKU_TEST_KAFKA_USERNAME=$ADMIN_USER" \
	"YIKU_TEST_KAFKA_PASSWORD_FILE=$ADMIN_PW_FILE" \
	"YIKU_TEST_KAFKA_CA_FILE=$CA_CRT"
if ((NODES > 1)); then
	# Node i's directory (its kafka.pid) is the i-th of this list, for
	# tests that kill and restart nodes (the fault suite).
	dirs=
	for ((i = 1; i <= NODES; i++)); do
		dirs+=${dirs:+,}$(node_dir "$i")
	done
	printf '%s\n' "YIKU_TEST_KAFKA_NODE_DIRS=$dirs"
fi
