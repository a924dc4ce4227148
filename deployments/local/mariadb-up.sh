#!/usr/bin/env bash
# Start a private MariaDB server for tests (installing mariadb-server from
# Debian's packages if needed) and print YIKU_TEST_MYSQL_DSN on stdout.
#
#   YIKU_MARIADB_PORT   TCP port on 127.0.0.1 (default 53306)
#
# The server is not the system service: mariadbd runs directly with its own
# datadir, socket and pid file under deployments/local/.run/mariadb, tuned for
# speed over durability. User yiku/yiku has all privileges; database yiku exists.
set -euo pipefail
YIKU_COMPONENT=mariadb
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=${YIKU_MARIADB_PORT:-53306}
check_port YIKU_MARIADB_PORT "$PORT"
DSN="yiku:yiku@tcp(127.0.0.1:$PORT)/yiku?parseTime=true"
lock mariadb

# first_tool NAME...: the first of NAME... found in PATH or /usr/sbin.
first_tool() {
	local n
	for n in "$@"; do
		if command -v "$n" 2>/dev/null; then return 0; fi
		if [[ -x /usr/sbin/$n ]]; then
			printf '%s\n' "/usr/sbin/$n"
			return 0
		fi
	done
	return 1
}
find_tools() {
	MYSQLD=$(first_tool mariadbd mysqld) &&
		INSTALL_DB=$(first_tool mariadb-install-db mysql_install_db) &&
		CLIENT=$(first_tool mariadb mysql) &&
		ADMIN=$(first_tool mariadb-admin mysqladmin)
}
if ! find_tools; then
	apt_install mariadb-server mariadb-client
	find_tools || die "installed mariadb-server but mariadbd, mariadb-install-db, mariadb or mariadb-admin is still missing"
fi
log "using $("$MYSQLD" --version 2>/dev/null | head -n1)"

# mariadbd started by root switches to the mysql user (--user); otherwise it
# runs as whoever runs this script.
if is_root; then
	DBUSER=mysql
	ensure_system_user mysql /nonexistent
else
	DBUSER=$(id -un)
fi
MYROOT=$(state_dir mariadb "$DBUSER")
[[ $MYROOT == "$RUN_DIR/mariadb" ]] || log "$DBUSER cannot reach $RUN_DIR; keeping the server in $MYROOT"
DATADIR=$MYROOT/data
CNF=$MYROOT/my.cnf
PIDFILE=$MYROOT/mariadbd.pid
ERRLOG=$MYROOT/mariadbd.err
SOCK=$MYROOT/mariadbd.sock
if ((${#SOCK} > 100)); then # sun_path holds 108 bytes
	SOCK=/tmp/yiku-mariadb-$(printf '%s' "$MYROOT" | sha256sum | cut -c1-12).sock
fi
mkdir -p "$MYROOT"
chown "$DBUSER:" "$MYROOT"
chmod 700 "$MYROOT"
cd "$MYROOT"

# The admin account: root@localhost over the socket (unix_socket auth) when
# root; mariadb-install-db makes the same kind of account for a non-root user.
ADMIN_USER=$(id -un)
admin_sql() { "$CLIENT" --no-defaults --protocol=socket -S "$SOCK" -u "$ADMIN_USER" --batch --skip-column-names; }

running() { pid_matches "$(read_pid "$PIDFILE")" "$CNF"; }

if running; then
	if ! grep -qx "port = $PORT" "$CNF"; then
		tcp_open 127.0.0.1 "$PORT" &&
			die "port $PORT on 127.0.0.1 is already taken by another process; set YIKU_MARIADB_PORT to a free port"
		log "running with another port than YIKU_MARIADB_PORT=$PORT: restarting"
		stop_pid "$(read_pid "$PIDFILE")" mariadbd 60
	else
		log "already running (pid $(read_pid "$PIDFILE"))"
	fi
elif [[ -e $PIDFILE ]]; then
	log "removing stale pid file $PIDFILE (pid $(read_pid "$PIDFILE") is not our server)"
	rm -f "$PIDFILE"
fi

if ! running; then
	# Rewritten on every start so a changed port takes effect.
	{
		cat <<-EOF
			# Written by deployments/local/mariadb-up.sh on every start; edits are lost.
			[mysqld]
			datadir = $DATADIR
			socket = $SOCK
			pid-file = $MYROOT/mariadbd.server.pid
			log-error = $ERRLOG
			port = $PORT
			bind-address = 127.0.0.1
			skip-name-resolve
			max_connections = 300
			character-set-server = utf8mb4
			collation-server = utf8mb4_unicode_ci
			skip-log-bin
			innodb_buffer_pool_size = 256M
			# Test data is disposable: trade durability for speed.
			innodb_flush_log_at_trx_commit = 0
			innodb_doublewrite = 0
		EOF
		is_root && printf 'user = %s\n' "$DBUSER"
	} >"$CNF"
	chmod 644 "$CNF"

	if [[ ! -d $DATADIR/mysql ]]; then
		rm -rf "$DATADIR"
		log "creating the data directory $DATADIR"
		# --skip-name-resolve: do not depend on the hostname resolving.
		install_args=(--defaults-file="$CNF" --datadir="$DATADIR" --skip-test-db --skip-name-resolve
			--auth-root-authentication-method=socket)
		is_root && install_args+=(--user="$DBUSER")
		if ! "$INSTALL_DB" "${install_args[@]}" \
			>"$MYROOT/install-db.log" 2>&1 </dev/null; then
			show_log "$MYROOT/install-db.log"
			show_log "$ERRLOG"
			rm -rf "$DATADIR"
			die "mariadb-install-db failed"
		fi
	fi

	if tcp_open 127.0.0.1 "$PORT"; then
		die "port $PORT on 127.0.0.1 is already taken by another process; set YIKU_MARIADB_PORT to a free port"
	fi
	rm -f "$SOCK"
	log "starting on 127.0.0.1:$PORT (log: $ERRLOG)"
	(
		exec {LOCK_FD}>&- # the server must not hold this script's lock
		# shellcheck disable=SC2016
		exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "$MYSQLD" --defaults-file="$CNF"
	) </dev/null >>"$MYROOT/mariadbd.out" 2>&1 &
	for _ in $(seq 1 50); do
		[[ -s $PIDFILE ]] && break
		sleep 0.1
	done
fi

# Wait (bounded) until it answers on its socket.
ready=
for _ in $(seq 1 120); do
	if "$ADMIN" --no-defaults --protocol=socket -S "$SOCK" -u "$ADMIN_USER" --connect-timeout=2 ping >/dev/null 2>&1; then
		ready=1
		break
	fi
	running || break
	sleep 0.5
done
if [[ -z $ready ]]; then
	show_log "$ERRLOG"
	show_log "$MYROOT/mariadbd.out" 10
	running && die "MariaDB did not answer within 60s (still running; stop it with mariadb-down.sh)"
	die "MariaDB exited during start"
fi

# The test user: all privileges, since tests create their own databases.
if ! out=$(admin_sql 2>&1 <<-'EOF'
	CREATE USER IF NOT EXISTS 'yiku'@'%' IDENTIFIED BY 'yiku';
	CREATE USER IF NOT EXISTS 'yiku'@'localhost' IDENTIFIED BY 'yiku';
	ALTER USER 'yiku'@'%' IDENTIFIED BY 'yiku';
	ALTER USER 'yiku'@'localhost' IDENTIFIED BY 'yiku';
	GRANT ALL PRIVILEGES ON *.* TO 'yiku'@'%' WITH GRANT OPTION;
	GRANT ALL PRIVILEGES ON *.* TO 'yiku'@'localhost' WITH GRANT OPTION;
	CREATE DATABASE IF NOT EXISTS yiku CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
EOF
); then
	die "could not create user/database yiku as $ADMIN_USER: $out"
fi
if ! out=$("$CLIENT" --no-defaults --protocol=tcp -h 127.0.0.1 -P "$PORT" -u yiku -pyiku --connect-timeout=5 \
	--batch --skip-column-names -e 'SELECT 1' yiku 2>&1); then
	die "cannot log in as yiku over TCP on 127.0.0.1:$PORT: $out"
fi

log "ready: $DSN"
printf 'YIKU_TEST_MYSQL_DSN=%s\n' "$DSN"
