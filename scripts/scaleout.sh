#!/usr/bin/env bash
# Scale-out of the exchange: `yiku bench` (the project's load tool) against
# 1, 2 and 3 instances of one hub on the same PostgreSQL database and the
# same Kafka cluster, in one run, reported as ratios to one instance.
#
#   set -a; eval "$(deployments/local/postgres-up.sh)"; eval "$(YIKU_KAFKA_NODES=3 deployments/local/kafka-up.sh)"; set +a
#   scripts/scaleout.sh [rounds (3)] [records per run (100000)] [clients (6)] [publish|lookups]
#
# With "lookups" the load is `yiku bench --lookups` instead: the count is
# lookups per run (an officer's POST /api/v1/lookups of the demo citizen's
# social-security-card materials), the rate answered lookups/s and the CPU
# per lookup; everything else is the same.
#
# Each round makes a fresh database and topic prefix, starts instance 1
# (`yiku bench hub`, which seeds the demo district), measures, starts
# instance 2 beside it, measures with the clients spread over both (client c
# publishes to instance c mod n), then the same with 3. The number of
# clients stays the same for 1, 2 and 3 instances. Instances share the keys
# and credentials; their library sinks form one consumer group, so the
# records topics' three partitions are spread over them. Every figure is
# the tool's own: end-to-end accepted records/s (HTTP publish -> Kafka ->
# library applied) and the CPU the whole machine spent per record — and the
# CPU per record of the processes under test alone, in parts (below). The
# script ends its hubs by pid and drops its databases; the hubs delete
# their topics (--delete-topics; the prefix contains "bench").
set -euo pipefail
ROUNDS=${1:-3}
RECORDS=${2:-100000}
CLIENTS=${3:-6}
MODE=${4:-publish}
case $MODE in
publish) load_args=(--batch 1000 --invalid 0.02 --skip-baselines) count_re='s/.*(\([0-9]*\) accepted.*/\1/p' rate_line="end to end" lat_line="publish latency" unit=records ;;
lookups) load_args=() count_re='s/.*answered *\([0-9]*\) lookups.*/\1/p' rate_line="  lookups  " lat_line="lookup latency" unit=lookups ;;
*) echo "mode: publish or lookups, not $MODE" >&2; exit 2 ;;
esac
: "${YIKU_TEST_DATABASE_URL:?set it from deployments/local/postgres-up.sh}"
: "${YIKU_TEST_KAFKA_BROKERS:?set it from YIKU_KAFKA_NODES=3 deployments/local/kafka-up.sh}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

umask 077
work=$(mktemp -d /tmp/yiku-scaleout.XXXXXX)
pids=()
dbs=()
admin_url=$YIKU_TEST_DATABASE_URL
base=${admin_url%%\?*}
base=${base%/*}
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	for d in "${dbs[@]}"; do
		psql "$admin_url" -qc "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/yiku" ./cmd/yiku
openssl genpkey -algorithm ed25519 -out "$work/jwt.pem" 2>/dev/null
openssl rand -hex 32 >"$work/secret.key"
kafka_args=(--kafka-brokers "$YIKU_TEST_KAFKA_BROKERS")
if [[ -n ${YIKU_TEST_KAFKA_SASL_MECHANISM:-} ]]; then
	kafka_args+=(--kafka-sasl-mechanism "$YIKU_TEST_KAFKA_SASL_MECHANISM" --kafka-username "$YIKU_TEST_KAFKA_USERNAME" --kafka-password-file "$YIKU_TEST_KAFKA_PASSWORD_FILE")
fi
if [[ -n ${YIKU_TEST_KAFKA_CA_FILE:-} ]]; then
	kafka_args+=(--kafka-tls --kafka-ca-file "$YIKU_TEST_KAFKA_CA_FILE")
fi

# The machine is shared, so besides the load tool's figure for the whole
# machine (all processes, /proc/stat) the script counts the CPU of the
# processes under test alone: the hub instances, PostgreSQL (the postmaster,
# its backends, and what exited backends left in the postmaster's cutime),
# the three Kafka JVMs and the load tool itself (/usr/bin/time).
pg_data=deployments/local/.run/pg/data
hz=$(getconf CLK_TCK)
# proc_ticks PID...: user+system clock ticks of the processes, with those of
# their reaped children.
proc_ticks() {
	local total=0 p t
	for p in "$@"; do
		t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}') || continue
		total=$((total + ${t:-0}))
	done
	echo "$total"
}
# service_pids: PostgreSQL's postmaster and backends, the Kafka nodes.
service_pids() {
	local pm
	pm=$(head -1 "$pg_data/postmaster.pid")
	echo "$pm" $(pgrep -P "$pm")
	local d
	for d in ${YIKU_TEST_KAFKA_NODE_DIRS//,/ }; do
		cat "$d/kafka.pid"
	done
}

# free_port: a loopback port nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

results=$work/results
: >"$results"
for ((r = 1; r <= ROUNDS; r++)); do
	db=yiku_bench_scaleout_$$_$r
	prefix=bench-scaleout-$$-$r
	psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
	dbs+=("$db")
	dir=$work/$db
	mkdir -p "$dir"
	cp "$work/jwt.pem" "$work/secret.key" "$dir/"
	urls=
	round_pids=()
	for n in 1 2 3; do
		port=$(free_port)
		"$work/yiku" bench hub --database-url "$base/$db?sslmode=disable" "${kafka_args[@]}" --topic-prefix "$prefix" \
			--http-addr "127.0.0.1:$port" --jwt-key-file "$dir/jwt.pem" --secret-key-file "$dir/secret.key" \
			--data-dir "$dir" --log-level warn --delete-topics >"$dir/hub$n.log" 2>&1 &
		pid=$!
		pids+=("$pid")
		round_pids+=("$pid")
		for ((i = 0; i < 180; i++)); do
			grep -q "listening on" "$dir/hub$n.log" && break
			kill -0 "$pid" 2>/dev/null || { cat "$dir/hub$n.log" >&2; exit 1; }
			sleep 0.5
		done
		grep -q "listening on" "$dir/hub$n.log" || { echo "instance $n did not start" >&2; exit 1; }
		urls+=${urls:+,}http://127.0.0.1:$port
		# let the consumer group take the new instance in before measuring
		sleep 5
		hub_before=$(proc_ticks "${round_pids[@]}")
		svc_before=$(proc_ticks $(service_pids))
		if [[ $MODE == lookups ]]; then
			bench_args=(--lookups "$RECORDS")
		else
			bench_args=(--records "$RECORDS" "${load_args[@]}")
		fi
		out=$(/usr/bin/time -f '%U %S' -o "$work/time" "$work/yiku" bench --hub "$urls" --credentials "$dir/credentials.json" \
			"${bench_args[@]}" --clients "$CLIENTS" 2>/dev/null)
		hub_ticks=$(($(proc_ticks "${round_pids[@]}") - hub_before))
		svc_ticks=$(($(proc_ticks $(service_pids)) - svc_before))
		accepted=$(sed -n "$count_re" <<<"$out")
		# under test, then its parts: hubs, PostgreSQL + Kafka, load tool (µs/record)
		own=$(awk -v h="$hub_ticks" -v s="$svc_ticks" -v hz="$hz" -v n="$accepted" \
			'{t = ($1 + $2) * 1e6 / n; printf "%.1f %.1f %.1f %.1f", (h + s) / hz * 1e6 / n + t, h / hz * 1e6 / n, s / hz * 1e6 / n, t}' "$work/time")
		line=$(grep "$rate_line" <<<"$out")
		load=$(cut -d' ' -f1 /proc/loadavg)
		if [[ $MODE == lookups ]]; then
			rate=$(awk '{print $2}' <<<"$line")
		else
			rate=$(awk '{print $4}' <<<"$line")
		fi
		# "[63.2µs CPU/record, 1.9 cores]" (Go's duration: ns, µs, ms or s) -> "63.2 1.9"
		cpu=$(sed -n 's/.*\[\([0-9.]*\)\([nµm]*s\) CPU\/record, \([0-9.]*\) cores\].*/\1 \2 \3/p' <<<"$line" |
			awk '{f = ($2 == "ns") ? 0.001 : ($2 == "ms") ? 1000 : ($2 == "s") ? 1000000 : 1; printf "%.1f %s", $1 * f, $3}')
		p99=$(sed -n 's/.*p99 \([^ ]*\) .*/\1/p' <<<"$(grep "$lat_line" <<<"$out")")
		echo "$r $n $rate ${cpu:-? ?} $own $p99 $load" | tee -a "$results"
	done
	for p in "${round_pids[@]}"; do
		kill "$p" && wait "$p" 2>/dev/null || true
	done
done

echo
echo "$MODE: round instances ${unit}/s machine_CPU_us/${unit%s} cores under_test_CPU_us/${unit%s} (hubs services tool) p99 load_average | ratios to 1 instance: rate machine_CPU under_test_CPU"
awk '{rate[$1" "$2]=$3; cpu[$1" "$2]=$4; own[$1" "$2]=$6; line[NR]=$0} END {
	for (i = 1; i <= NR; i++) { split(line[i], f, " "); printf "%s | %.2f %.2f %.2f\n", line[i], f[3]/rate[f[1]" 1"], f[4]/cpu[f[1]" 1"], f[6]/own[f[1]" 1"] }
}' "$results"
echo
echo "$MODE: medians over $ROUNDS rounds (each column on its own): instances ${unit}/s machine_CPU_us/${unit%s} under_test_CPU_us/${unit%s} hubs services tool | ratios: rate machine_CPU under_test_CPU"
awk '{rate[$1" "$2]=$3; cpu[$1" "$2]=$4; own[$1" "$2]=$6; hub[$1" "$2]=$7; svc[$1" "$2]=$8; tool[$1" "$2]=$9; rounds[$1]=1} END {
	for (r in rounds) for (n = 1; n <= 3; n++) { print n, rate[r" "n], cpu[r" "n], own[r" "n], hub[r" "n], svc[r" "n], tool[r" "n], rate[r" "n]/rate[r" 1"], cpu[r" "n]/cpu[r" 1"], own[r" "n]/own[r" 1"] }
}' "$results" | awk '{for (k = 2; k <= 10; k++) v[$1, k] = v[$1, k] " " $k} END {
	for (n = 1; n <= 3; n++) { printf "%d", n; for (k = 2; k <= 10; k++) printf " %s%s", (k == 8 ? "| " : ""), med(v[n, k]); printf "\n" } }
	function med(s,   v, k, i, j, t) { k = split(s, v, " "); for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }; return v[int((k + 1) / 2)] }'
