#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded time each (default 5s).
# Usage: scripts/fuzz.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-5s}
status=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzz $pkg $fn ($dur)"
    if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$dur" -parallel 2 "$pkg" > /tmp/yiku-fuzz.log 2>&1; then
      cat /tmp/yiku-fuzz.log
      status=1
    fi
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' || true)
exit $status
