# shellcheck shell=bash
# Shared helpers for the deployments/local/*-up.sh and *-down.sh scripts.
# Sourced, never run. Callers set YIKU_COMPONENT before sourcing.
#
# Conventions: everything a human reads goes to stderr; the up scripts print
# exactly one KEY=value line on stdout. Processes are tracked by pid files and
# are only ever signalled after checking that the pid still belongs to the
# process we started (its command line names our config or data directory).

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RUN_DIR=$LOCAL_DIR/.run
# shellcheck disable=SC2034 # used by the scripts that source this file
CACHE_DIR=$LOCAL_DIR/.cache
: "${YIKU_COMPONENT:=local}"

log() { printf '[%s] %s\n' "$YIKU_COMPONENT" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# show_log FILE [LINES]: print the tail of a log file to stderr.
show_log() {
	local file=$1 lines=${2:-40}
	if [[ -s $file ]]; then
		log "last $lines lines of $file:"
		tail -n "$lines" "$file" | sed 's/^/    /' >&2
	fi
}

is_root() { [[ $(id -u) -eq 0 ]]; }

check_port() { # check_port NAME VALUE
	if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 < 1024 || 10#$2 > 65534)); then
		die "$1=$2 is not a usable TCP port (1024..65534)"
	fi
}

# lock NAME: hold an exclusive lock for the rest of the script, so two runs of
# the same script (or two apt-get runs) never race.
# Servers we start must not inherit the lock's descriptor (they would hold the
# lock for their whole life): start them through without_lock.
LOCK_FD=
lock() {
	mkdir -p "$RUN_DIR"
	exec {LOCK_FD}>"$RUN_DIR/$1.lock"
	if ! flock -w 600 "$LOCK_FD"; then
		die "another run still holds $RUN_DIR/$1.lock after 10 minutes"
	fi
}
without_lock() {
	if [[ -n $LOCK_FD ]]; then
		"$@" {LOCK_FD}>&-
	else
		"$@"
	fi
}

# apt_install PACKAGE...: install Debian packages, without starting any
# service they ship (policy-rc.d), serialised across parallel scripts.
apt_install() {
	is_root || die "need to install $* but not running as root; install them (apt-get install $*) and retry"
	command -v apt-get >/dev/null || die "need $* but apt-get is not available; install them by hand"
	mkdir -p "$RUN_DIR"
	local aptlog=$RUN_DIR/apt.log fd rc=0 own_policy=
	exec {fd}>"$RUN_DIR/apt.lock"
	flock -w 900 "$fd" || die "timed out waiting for $RUN_DIR/apt.lock"
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		# Packages must not start system-wide services (port 5432/3306) here.
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	log "installing Debian packages: $* (log: $aptlog)"
	{
		apt-get -q update &&
			DEBIAN_FRONTEND=noninteractive apt-get -q -y \
				-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
				--no-install-recommends install "$@"
	} >>"$aptlog" 2>&1 </dev/null || rc=$?
	[[ -n $own_policy ]] && rm -f /usr/sbin/policy-rc.d
	exec {fd}>&-
	if ((rc != 0)); then
		show_log "$aptlog" 30
		die "apt-get install $* failed (exit $rc)"
	fi
}

# ensure_system_user NAME HOME: create a system user if it does not exist.
ensure_system_user() {
	id -u "$1" >/dev/null 2>&1 && return 0
	log "creating system user $1"
	useradd --system --user-group --home-dir "$2" --no-create-home --shell /usr/sbin/nologin "$1" ||
		die "could not create system user $1"
}

# state_dir NAME USER: where a server that runs as USER keeps its files.
# Normally $RUN_DIR/NAME; if USER cannot reach $RUN_DIR (say the clone lives
# under /root, mode 700), a per-checkout directory under /var/tmp instead.
state_dir() {
	local name=$1 user=$2
	mkdir -p "$RUN_DIR"
	if [[ $user == "$(id -un)" ]] || runuser -u "$user" -- test -x "$RUN_DIR" 2>/dev/null; then
		printf '%s\n' "$RUN_DIR/$name"
	else
		printf '/var/tmp/yiku-%s-%s\n' "$name" "$(printf '%s' "$LOCAL_DIR" | sha256sum | cut -c1-12)"
	fi
}

# as_user USER CMD...: run CMD as USER (directly when we already are USER).
as_user() {
	local user=$1
	shift
	if [[ $user == "$(id -un)" ]]; then
		"$@"
	else
		runuser -u "$user" -- "$@"
	fi
}

# pid_matches PID NEEDLE...: the process PID is alive and its command line
# contains every NEEDLE.
pid_matches() {
	local pid=$1 cmdline
	shift
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ -n $cmdline ]] || return 1
	local needle
	for needle in "$@"; do
		[[ $cmdline == *"$needle"* ]] || return 1
	done
}

# read_pid FILE: first line of FILE, or nothing.
read_pid() {
	if [[ -r $1 ]]; then head -n1 "$1" | tr -dc '0-9'; fi
}

# tcp_open HOST PORT: something accepts TCP connections there.
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# stop_pid PID NAME TIMEOUT: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL.
stop_pid() {
	local pid=$1 name=$2 timeout=$3 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < timeout * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	log "$name (pid $pid) did not stop within ${timeout}s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	die "$name (pid $pid) survived SIGKILL"
}

# kafka_layout: from YIKU_KAFKA_NODES (1 or 3), set NODES, KDIR (the
# cluster's directory: CA, passwords, cluster id), KLOCK (its lock) and
# node_dir I (node I's configuration, pid file, data and logs). One node
# keeps the layout it always had, in .run/kafka. YIKU_KAFKA_DIR, a name
# under .run, replaces kafka / kafka-cluster, so a second cluster of its own
# (say the city hub's beside the district's) can run from one checkout.
kafka_layout() {
	NODES=${YIKU_KAFKA_NODES:-1}
	case $NODES in
	1)
		KLOCK=kafka
		;;
	3)
		KLOCK=kafka-cluster
		;;
	*) die "YIKU_KAFKA_NODES=$NODES: want 1 (one broker) or 3 (a three-node cluster)" ;;
	esac
	if [[ -n ${YIKU_KAFKA_DIR:-} ]]; then
		[[ $YIKU_KAFKA_DIR =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] ||
			die "YIKU_KAFKA_DIR=$YIKU_KAFKA_DIR: want a plain directory name under $RUN_DIR (letters, digits, . _ -)"
		KLOCK=$YIKU_KAFKA_DIR
	fi
	KDIR=$RUN_DIR/$KLOCK
}
node_dir() {
	if ((NODES == 1)); then
		printf '%s\n' "$KDIR"
	else
		printf '%s/node-%s\n' "$KDIR" "$1"
	fi
}
