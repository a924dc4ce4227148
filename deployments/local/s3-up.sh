#!/usr/bin/env bash
# Start S3Proxy, an S3-compatible server, for tests and print on stdout the
# lines tests read:
#
#   YIKU_TEST_S3_URL=s3://yiku-test?endpoint=http://127.0.0.1:59000&use_path_style=true&region=us-east-1&profile=yiku-test
#   AWS_SHARED_CREDENTIALS_FILE=<checkout>/deployments/local/.run/s3/credentials
#
# YIKU_TEST_S3_URL is a gocloud.dev blob URL, as `yiku serve --material-store`
# takes it: bucket yiku-test on 127.0.0.1, path-style requests, the profile
# yiku-test of the AWS shared credentials file beside it. That file (mode
# 0600) holds an access key and secret generated on the first start; S3Proxy
# accepts only requests signed with them (AWS Signature V4, or V2).
#
# S3Proxy keeps the objects in plain files (jclouds' filesystem provider)
# under deployments/local/.run/s3/data: bucket yiku-test is the directory
# data/yiku-test. It listens on 127.0.0.1 only, over plain http.
#
#   YIKU_S3_PORT   TCP port on 127.0.0.1 (default 59000)
#   YIKU_S3_HEAP   JVM heap options (default "-Xms64m -Xmx256m")
#   YIKU_S3_WAIT   seconds to wait for the server to answer (default 60)
#
# S3Proxy's jars come from Maven Central through s3/pom.xml into
# deployments/local/.cache/s3-libs (once; again when the pom changes).
set -euo pipefail
YIKU_COMPONENT=s3
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=${YIKU_S3_PORT:-59000}
check_port YIKU_S3_PORT "$PORT"
HEAP=${YIKU_S3_HEAP:-"-Xms64m -Xmx256m"}
WAIT=${YIKU_S3_WAIT:-60}
[[ $WAIT =~ ^[0-9]+$ ]] || die "YIKU_S3_WAIT=$WAIT is not a number of seconds"
BUCKET=yiku-test
PROFILE=yiku-test
REGION=us-east-1

POM=$LOCAL_DIR/s3/pom.xml
LIBS=$CACHE_DIR/s3-libs
SDIR=$RUN_DIR/s3
DATA=$SDIR/data
PROPS=$SDIR/s3proxy.properties
PIDFILE=$SDIR/s3proxy.pid
OUT=$SDIR/s3proxy.out
CREDS=$SDIR/credentials
ENDPOINT=http://127.0.0.1:$PORT
URL="s3://$BUCKET?endpoint=$ENDPOINT&use_path_style=true&region=$REGION&profile=$PROFILE"
lock s3

# --- tools: Java 11+ (S3Proxy 2.6 is built for 11), Maven, curl ---------------
if ! command -v java >/dev/null; then
	apt_install openjdk-17-jre-headless
fi
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if ! [[ ${java_major%%.*} =~ ^[0-9]+$ ]] || ((${java_major%%.*} < 11)); then
	die "S3Proxy 2.6 needs Java 11 or newer; 'java' here is ${java_major:-unknown}"
fi
if ! command -v curl >/dev/null; then
	apt_install curl
fi

# --- jars ---------------------------------------------------------------------
pom_sum=$(sha256sum "$POM" | cut -d' ' -f1)
if [[ $(cat "$LIBS/.pom.sha256" 2>/dev/null) != "$pom_sum" ]] || ! compgen -G "$LIBS/s3proxy-*.jar" >/dev/null; then
	if ! command -v mvn >/dev/null; then
		apt_install maven
	fi
	mkdir -p "$CACHE_DIR"
	rm -rf "$LIBS"
	log "fetching S3Proxy jars with Maven into $LIBS (the first run downloads about 45 MB into ~/.m2)"
	if ! timeout 1200 mvn -q -B -Dstyle.color=never -f "$POM" package >"$CACHE_DIR/s3-mvn.log" 2>&1 </dev/null; then
		show_log "$CACHE_DIR/s3-mvn.log"
		rm -rf "$LIBS"
		die "mvn could not fetch S3Proxy (log: $CACHE_DIR/s3-mvn.log)"
	fi
	compgen -G "$LIBS/s3proxy-*.jar" >/dev/null || die "mvn ran but $LIBS holds no s3proxy jar"
	printf '%s\n' "$pom_sum" >"$LIBS/.pom.sha256"
fi
S3PROXY_VERSION=$(basename "$(compgen -G "$LIBS/s3proxy-*.jar" | head -n1)" .jar)
S3PROXY_VERSION=${S3PROXY_VERSION#s3proxy-}

# --- the bucket and the access key, made once ----------------------------------
# The filesystem provider takes a bucket or object whose file others may read
# for public-read, served to anyone without a signature: the bucket directory
# is 0700 and S3Proxy runs under umask 077, so every object is private.
mkdir -p "$DATA/$BUCKET"
chmod 700 "$SDIR" "$DATA" "$DATA/$BUCKET"
if [[ ! -s $CREDS ]]; then
	log "generating the access key and secret into $CREDS"
	(
		umask 077
		printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$PROFILE" \
			"YIKU$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)" \
			"$(od -An -N30 -tx1 /dev/urandom | tr -d ' \n')" >"$CREDS.tmp"
	)
	mv "$CREDS.tmp" "$CREDS"
fi
chmod 600 "$CREDS"
ACCESS_KEY=$(sed -n 's/^aws_access_key_id = //p' "$CREDS")
SECRET_KEY=$(sed -n 's/^aws_secret_access_key = //p' "$CREDS")
[[ -n $ACCESS_KEY && -n $SECRET_KEY ]] || die "$CREDS holds no aws_access_key_id / aws_secret_access_key (delete it to generate new ones)"

# The properties hold the secret too: written with mode 0600, again on every
# start so a changed port or key takes effect.
render_props() {
	cat <<-EOF
		# Written by deployments/local/s3-up.sh on every start; edits are lost.
		s3proxy.endpoint=$ENDPOINT
		s3proxy.authorization=aws-v2-or-v4
		s3proxy.identity=$ACCESS_KEY
		s3proxy.credential=$SECRET_KEY
		jclouds.provider=filesystem
		jclouds.filesystem.basedir=$DATA
		# The filesystem provider needs an identity but checks none.
		jclouds.identity=local
		jclouds.credential=local
	EOF
}

# --- running already? ---------------------------------------------------------
running() { pid_matches "$(read_pid "$PIDFILE")" org.gaul.s3proxy.Main "$PROPS"; }
if running; then
	if [[ $(render_props) != "$(cat "$PROPS")" ]]; then
		log "running with other settings than now (port or key changed): restarting"
		stop_pid "$(read_pid "$PIDFILE")" s3proxy 30
		rm -f "$PIDFILE"
	elif [[ $(cat "$SDIR/version" 2>/dev/null) != "$S3PROXY_VERSION" ]]; then
		log "running S3Proxy $(cat "$SDIR/version" 2>/dev/null), but the jars are now $S3PROXY_VERSION: restarting"
		stop_pid "$(read_pid "$PIDFILE")" s3proxy 30
		rm -f "$PIDFILE"
	else
		log "already running (pid $(read_pid "$PIDFILE"))"
	fi
elif [[ -e $PIDFILE ]]; then
	log "removing stale pid file $PIDFILE (pid $(read_pid "$PIDFILE") is not our server)"
	rm -f "$PIDFILE"
fi

if ! running; then
	if tcp_open 127.0.0.1 "$PORT"; then
		die "port $PORT on 127.0.0.1 is already taken by another process; set YIKU_S3_PORT to a free port"
	fi
	(
		umask 077
		render_props >"$PROPS"
	)
	printf '%s\n' "$S3PROXY_VERSION" >"$SDIR/version"
	log "starting S3Proxy $S3PROXY_VERSION on $ENDPOINT (log: $OUT)"
	# Record the pid of the shell that execs java (setsid: its own session,
	# so a Ctrl-C in the terminal that ran make does not reach it).
	(
		exec {LOCK_FD}>&- # the server must not hold this script's lock
		umask 077         # objects private (see above)
		# shellcheck disable=SC2016,SC2086 # $HEAP holds several options
		exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
			java $HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
			-Dlogback.configurationFile="$LOCAL_DIR/s3/logback.xml" \
			-cp "$LIBS/*" org.gaul.s3proxy.Main --properties "$PROPS"
	) </dev/null >>"$OUT" 2>&1 &
	for _ in $(seq 1 50); do
		[[ -s $PIDFILE ]] && break
		sleep 0.1
	done
fi

# --- wait (bounded) until it answers, then check that it checks signatures ----
# An unsigned request to the bucket must be refused (403): that is S3Proxy
# answering, with authorization on and the bucket private.
ready=
for ((i = 0; i < WAIT * 5; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ENDPOINT/$BUCKET/" 2>/dev/null) || code=
	if [[ $code == 403 ]]; then
		ready=1
		break
	fi
	if [[ -n $code && $code != 000 ]]; then
		die "S3Proxy on $ENDPOINT answered an unsigned request for bucket $BUCKET with HTTP $code, want 403: is the bucket readable by anyone ($DATA/$BUCKET must not be readable by others), or is another server on the port?"
	fi
	running || break
	sleep 0.2
done
if [[ -z $ready ]]; then
	show_log "$OUT"
	running && die "S3Proxy did not answer within ${WAIT}s (still running; stop it with s3-down.sh)"
	die "S3Proxy exited during start"
fi
# A signed request with the generated key must list the bucket.
if ! out=$(curl -sS --fail-with-body --max-time 10 --aws-sigv4 "aws:amz:$REGION:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
	--user "$ACCESS_KEY:$SECRET_KEY" "$ENDPOINT/$BUCKET/" 2>&1); then
	die "S3Proxy refused a request signed with the key in $CREDS: $out"
fi

log "ready: $URL"
printf 'YIKU_TEST_S3_URL=%s\n' "$URL"
printf 'AWS_SHARED_CREDENTIALS_FILE=%s\n' "$CREDS"
