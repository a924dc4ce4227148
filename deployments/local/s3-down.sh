#!/usr/bin/env bash
# Stop the test S3Proxy started by s3-up.sh.
#   --purge   also delete its objects and its access key (the next up makes
#             a new key and an empty bucket)
set -euo pipefail
YIKU_COMPONENT=s3
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=
case ${1:-} in
'') ;;
--purge) purge=1 ;;
*) die "usage: $0 [--purge]" ;;
esac
lock s3

SDIR=$RUN_DIR/s3
pid=$(read_pid "$SDIR/s3proxy.pid")
if pid_matches "$pid" org.gaul.s3proxy.Main "$SDIR/s3proxy.properties"; then
	log "stopping S3Proxy (pid $pid)"
	stop_pid "$pid" s3proxy 30
	log "stopped"
else
	log "not running"
fi
rm -f "$SDIR/s3proxy.pid"

if [[ -n $purge ]]; then
	log "deleting $SDIR"
	rm -rf "$SDIR"
fi
