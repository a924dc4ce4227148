#!/usr/bin/env bash
# Stop the MirrorMaker 2 process mirrormaker-up.sh started (the one of
# YIKU_MM2_DIR, default mirrormaker). Its committed progress stays in the
# target cluster's internal topics, so the next start goes on where it
# stopped.
set -euo pipefail
YIKU_COMPONENT=mirrormaker
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=${YIKU_MM2_DIR:-mirrormaker}
[[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "YIKU_MM2_DIR=$NAME: want letters, digits, '.', '_' or '-'"
MDIR=$RUN_DIR/$NAME
lock "$NAME"
pid=$(read_pid "$MDIR/mirrormaker.pid")
if pid_matches "$pid" org.apache.kafka.connect.mirror.MirrorMaker "$MDIR/mm2.properties"; then
	log "stopping MirrorMaker (pid $pid)"
	stop_pid "$pid" mirrormaker 60
	log "stopped"
else
	log "not running"
fi
rm -f "$MDIR/mirrormaker.pid"
