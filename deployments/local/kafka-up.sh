#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft, broker+controller in one JVM)
# for tests, secured as production is, and print on stdout the lines tests read:
#
#   YIKU_TEST_KAFKA_BROKERS=127.0.0.1:59092
#   YIKU_TEST_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
#   YIKU_TEST_KAFKA_USERNAME=yiku
#   YIKU_TEST_KAFKA_PASSWORD_FILE=<checkout>/deployments/local/.run/kafka/sasl/yiku.password
#   YIKU_TEST_KAFKA_CA_FILE=<checkout>/deployments/local/.run/kafka/tls/ca.crt
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
lock kafka

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

# --- the broker's configuration ---------------------------------------------------
# KRaft combined mode with a static one-voter quorum: nothing about the
# ports is stored in the metadata log, so YIKU_KAFKA_PORT may change freely.
# Rendered on every run; a running broker started with another file is
# restarted. The comment line ties it to the certificate and the passwords.
render_props() {
	cat <<-EOF
		# Written by deployments/local/kafka-up.sh on every start; edits are lost.
		# certificate $CERT_ID, credentials $SCRAM_ID
		process.roles=broker,controller
		node.id=1
		controller.quorum.voters=1@127.0.0.1:$CPORT
		listeners=SASL_SSL://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
		advertised.listeners=SASL_SSL://127.0.0.1:$PORT
		inter.broker.listener.name=SASL_SSL
		controller.listener.names=CONTROLLER
		listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL
		log.dirs=$KDIR/data

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
		# only the broker holds: its principal there is User:$BROKER_DN.
		listener.name.controller.ssl.client.auth=required

		# Authorisation: deny unless an ACL allows. Super users: the hub's
		# admin, the broker's inter-broker login and its certificate.
		authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
		allow.everyone.if.no.acl.found=false
		super.users=User:$ADMIN_USER;User:$BROKER_USER;User:$BROKER_DN

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
}
WANT_PROPS=$(render_props)

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
	if ! grep -q '^listeners=SASL_SSL://' "$PROPS"; then
		log "running without SASL_SSL (started by an older kafka-up.sh): restarting secured"
		stop_broker
	elif ! grep -qx "listeners=SASL_SSL://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT" "$PROPS"; then
		for p in "$PORT" "$CPORT"; do
			tcp_open 127.0.0.1 "$p" &&
				die "port $p on 127.0.0.1 is already taken by another process; set YIKU_KAFKA_PORT to a free port"
		done
		log "running with other ports than YIKU_KAFKA_PORT=$PORT: restarting"
		stop_broker
	elif [[ $(cat "$KDIR/version" 2>/dev/null) != "$KAFKA_VERSION" ]]; then
		log "running Kafka $(cat "$KDIR/version" 2>/dev/null), but the jars are now $KAFKA_VERSION: restarting"
		stop_broker
	elif [[ $(cat "$PROPS") != "$WANT_PROPS" ]]; then
		log "running with another configuration (settings, certificate or passwords changed): restarting"
		stop_broker
	else
		log "already running (pid $(read_pid "$PIDFILE"))"
	fi
elif [[ -e $PIDFILE ]]; then
	log "removing stale pid file $PIDFILE (pid $(read_pid "$PIDFILE") is not our broker)"
	rm -f "$PIDFILE"
fi

# --- configure, format and start ---------------------------------------------
started=
if ! running; then
	started=1
	mkdir -p "$KDIR/logs"
	(umask 077 && printf '%s\n' "$WANT_PROPS" >"$PROPS")

	# Storage formatted by a newer Kafka cannot be read by an older one.
	formatted_by=$(cat "$KDIR/formatted-by" 2>/dev/null || true)
	if [[ -f $KDIR/data/meta.properties && -n $formatted_by && $formatted_by != "$KAFKA_VERSION" &&
		$(printf '%s\n%s\n' "$formatted_by" "$KAFKA_VERSION" | sort -V | tail -n1) == "$formatted_by" ]]; then
		log "storage was formatted by Kafka $formatted_by, newer than $KAFKA_VERSION: wiping test data"
		rm -rf "$KDIR/data"
	fi
	# The SCRAM users exist only if the storage was formatted with them.
	if [[ -f $KDIR/data/meta.properties && $(cat "$KDIR/formatted-scram" 2>/dev/null) != "$SCRAM_ID" ]]; then
		log "storage was formatted without the current SCRAM users (before SASL, or the passwords changed): wiping test data"
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
		log "formatting storage in $KDIR/data (cluster id $cluster_id) with the SCRAM users $ADMIN_USER and $BROKER_USER"
		if ! java -cp "$CP" -Dlog4j2.configurationFile="$LOCAL_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$KDIR/logs" \
			kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" \
			--add-scram "$MECHANISM=[name=$ADMIN_USER,password=$ADMIN_PW]" \
			--add-scram "$MECHANISM=[name=$BROKER_USER,password=$BROKER_PW]" >>"$KDIR/format.log" 2>&1; then
			show_log "$KDIR/format.log"
			rm -rf "$KDIR/data"
			die "kafka-storage format failed"
		fi
		printf '%s\n' "$KAFKA_VERSION" >"$KDIR/formatted-by"
		printf '%s\n' "$SCRAM_ID" >"$KDIR/formatted-scram"
	fi

	for p in "$PORT" "$CPORT"; do
		if tcp_open 127.0.0.1 "$p"; then
			die "port $p on 127.0.0.1 is already taken by another process; set YIKU_KAFKA_PORT to a free port (it uses that port and the next)"
		fi
	done

	log "starting Kafka $KAFKA_VERSION on $BROKERS, SASL_SSL (controller :$CPORT; logs: $KDIR/logs/server.log, $OUT)"
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

# --- wait until it answers the super user -------------------------------------
# With kcat: a metadata request over SASL_SSL as the super user. Without it
# (not root, kcat not installed): a TLS handshake that checks the broker's
# certificate against the CA, which proves the listener is up but not SASL.
answers() {
	if command -v kcat >/dev/null; then
		kcat -b "$BROKERS" "${KCAT_LOGIN[@]}" -L -m 3 2>/dev/null | grep -q "broker 1 at 127.0.0.1:$PORT"
	else
		tcp_open 127.0.0.1 "$PORT" &&
			timeout 5 openssl s_client -connect "$BROKERS" -CAfile "$CA_CRT" -verify_return_error -brief </dev/null >/dev/null 2>&1
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

# A broker this run started must refuse clients that do not log in.
if [[ -n $started ]] && command -v kcat >/dev/null; then
	if kcat -b "$BROKERS" -L -m 3 >/dev/null 2>&1; then
		die "the broker answered a PLAINTEXT client without login on $BROKERS; check $PROPS"
	fi
	if kcat -b "$BROKERS" -X security.protocol=SSL -X "ssl.ca.location=$CA_CRT" -L -m 3 >/dev/null 2>&1; then
		die "the broker answered a TLS client without SASL login on $BROKERS; check $PROPS"
	fi
	if kcat -b "$BROKERS" "${KCAT_LOGIN[@]}" -X "sasl.password=wrong-$ADMIN_PW" -L -m 3 >/dev/null 2>&1; then
		die "the broker answered a wrong password on $BROKERS; check $PROPS"
	fi
fi

log "ready: Kafka $KAFKA_VERSION on $BROKERS, SASL_SSL $MECHANISM, super user $ADMIN_USER (pid $(read_pid "$PIDFILE"))"
printf '%s\n' \
	"YIKU_TEST_KAFKA_BROKERS=$BROKERS" \
	"YIKU_TEST_KAFKA_SASL_MECHANISM=$MECHANISM" \
	"YIKU_TEST_KAFKA_USERNAME=$ADMIN_USER" \
	"YIKU_TEST_KAFKA_PASSWORD_FILE=$ADMIN_PW_FILE" \
	"YIKU_TEST_KAFKA_CA_FILE=$CA_CRT"
