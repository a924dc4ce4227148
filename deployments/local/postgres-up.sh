#!/usr/bin/env bash
# Start a private PostgreSQL cluster for tests (installing PostgreSQL from
# Debian's packages if needed) and print YIKU_TEST_DATABASE_URL on stdout.
#
#   YIKU_PG_PORT   TCP port on 127.0.0.1 (default 55432)
#
# The cluster lives in deployments/local/.run/pg, is tuned for speed, not
# durability (fsync=off), and has one superuser, yiku/yiku, and a database yiku.
set -euo pipefail
YIKU_COMPONENT=postgres
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=${YIKU_PG_PORT:-55432}
check_port YIKU_PG_PORT "$PORT"
URL="postgres://yiku:yiku@127.0.0.1:$PORT/yiku?sslmode=disable"
lock postgres

# find_pg_bin: set PGBIN to a directory holding postgres, initdb and pg_ctl.
# The PATH wins (resolving symlinks, so /usr/local/bin/postgres ->
# /usr/lib/postgresql/15/bin works), then the newest Debian version.
find_pg_bin() {
	local p dir
	PGBIN=
	if p=$(command -v postgres 2>/dev/null); then
		dir=$(dirname "$(readlink -f "$p")")
		if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
			PGBIN=$dir
			return 0
		fi
	fi
	for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4,4nr); do
		if [[ -x $dir/postgres && -x $dir/initdb && -x $dir/pg_ctl ]]; then
			PGBIN=$dir
			return 0
		fi
	done
	return 1
}

if ! find_pg_bin; then
	apt_install postgresql
	find_pg_bin || die "installed postgresql but found no postgres/initdb/pg_ctl under /usr/lib/postgresql/*/bin"
fi
tool() { # tool NAME: a client tool from PGBIN, else from PATH
	if [[ -x $PGBIN/$1 ]]; then
		printf '%s\n' "$PGBIN/$1"
	else
		command -v "$1" || die "$1 not found (in $PGBIN or PATH)"
	fi
}
PG_MAJOR=$("$PGBIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
log "using PostgreSQL $PG_MAJOR from $PGBIN"

# PostgreSQL refuses to run as root: when root, run it as the postgres user.
if is_root; then
	PGUSER_OS=postgres
	ensure_system_user postgres /var/lib/postgresql
else
	PGUSER_OS=$(id -un)
fi
PGROOT=$(state_dir pg "$PGUSER_OS")
PGDATA=$PGROOT/data
PGLOG=$PGROOT/postgres.log
[[ $PGROOT == "$RUN_DIR/pg" ]] || log "$PGUSER_OS cannot reach $RUN_DIR; keeping the cluster in $PGROOT"

mkdir -p "$PGROOT"
chown "$PGUSER_OS:" "$PGROOT"
chmod 700 "$PGROOT"
cd "$PGROOT" # runuser keeps the cwd; make sure the server user can stat it

# Running already? postmaster.pid line 1 is the pid, line 4 the port.
postmaster_pid() { read_pid "$PGDATA/postmaster.pid"; }
running() { pid_matches "$(postmaster_pid)" postgres "$PGDATA"; }

if running; then
	cur_port=$(sed -n 4p "$PGDATA/postmaster.pid" | tr -dc '0-9')
	if [[ $cur_port != "$PORT" ]]; then
		tcp_open 127.0.0.1 "$PORT" &&
			die "port $PORT on 127.0.0.1 is already taken by another process; set YIKU_PG_PORT to a free port"
		log "running on port $cur_port, but YIKU_PG_PORT=$PORT: restarting"
		as_user "$PGUSER_OS" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >&2 ||
			die "could not stop the running cluster"
	else
		log "already running (pid $(postmaster_pid))"
	fi
elif [[ -e $PGDATA/postmaster.pid ]]; then
	log "removing stale $PGDATA/postmaster.pid (pid $(postmaster_pid) is not our server)"
	rm -f "$PGDATA/postmaster.pid"
fi

if ! running; then
	if [[ -f $PGDATA/PG_VERSION ]]; then
		data_major=$(cat "$PGDATA/PG_VERSION")
		[[ $data_major == "$PG_MAJOR" ]] ||
			die "$PGDATA was made by PostgreSQL $data_major but the binaries are $PG_MAJOR; run $LOCAL_DIR/postgres-down.sh --purge and retry"
	else
		[[ -e $PGDATA ]] && log "removing incomplete cluster directory $PGDATA" && rm -rf "$PGDATA"
		log "creating the cluster in $PGDATA"
		pwfile=$PGROOT/.pwfile
		printf 'yiku\n' >"$pwfile"
		chown "$PGUSER_OS:" "$pwfile"
		chmod 600 "$pwfile"
		# The bootstrap superuser is yiku itself; TCP logins need its password.
		if ! as_user "$PGUSER_OS" "$PGBIN/initdb" -D "$PGDATA" -U yiku --pwfile="$pwfile" \
			--auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-locale --no-sync \
			>"$PGROOT/initdb.log" 2>&1; then
			show_log "$PGROOT/initdb.log"
			rm -rf "$PGDATA"
			die "initdb failed"
		fi
		rm -f "$pwfile"
		printf "\ninclude_if_exists = 'yiku.conf'\n" >>"$PGDATA/postgresql.conf"
	fi

	# Settings are rewritten on every start so a changed port takes effect.
	cat >"$PGDATA/yiku.conf" <<-EOF
		# Written by deployments/local/postgres-up.sh on every start; edits are lost.
		listen_addresses = '127.0.0.1'
		port = $PORT
		unix_socket_directories = ''
		max_connections = 300
		shared_buffers = 128MB
		# Test data is disposable: trade durability for speed.
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		wal_level = minimal
		max_wal_senders = 0
		log_min_messages = warning
		log_line_prefix = '%m [%p] %q%u@%d '
	EOF
	chown "$PGUSER_OS:" "$PGDATA/yiku.conf"

	if tcp_open 127.0.0.1 "$PORT"; then
		die "port $PORT on 127.0.0.1 is already taken by another process; set YIKU_PG_PORT to a free port"
	fi
	log "starting on 127.0.0.1:$PORT (log: $PGLOG)"
	touch "$PGLOG" && chown "$PGUSER_OS:" "$PGLOG"
	if ! without_lock as_user "$PGUSER_OS" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 90 start >/dev/null 2>&1; then
		show_log "$PGLOG"
		die "PostgreSQL did not start"
	fi
fi

# Wait (bounded) until it accepts connections, then make sure the database exists.
PSQL=$(tool psql)
PG_ISREADY=$(tool pg_isready)
export PGPASSWORD=yiku PGCONNECT_TIMEOUT=5
ready=
for _ in $(seq 1 120); do
	if "$PG_ISREADY" -q -h 127.0.0.1 -p "$PORT" -U yiku -d postgres; then
		ready=1
		break
	fi
	running || break
	sleep 0.5
done
if [[ -z $ready ]]; then
	show_log "$PGLOG"
	die "PostgreSQL is not accepting connections on 127.0.0.1:$PORT"
fi
psql_yiku() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U yiku -d postgres "$@"; }
if ! exists=$(psql_yiku -tAc "SELECT 1 FROM pg_database WHERE datname = 'yiku'" 2>&1); then
	die "cannot log in as yiku on 127.0.0.1:$PORT: $exists"
fi
if [[ $exists != 1 ]]; then
	log "creating database yiku"
	psql_yiku -c 'CREATE DATABASE yiku' >&2 || die "CREATE DATABASE yiku failed"
fi

log "ready: $URL"
printf 'YIKU_TEST_DATABASE_URL=%s\n' "$URL"
