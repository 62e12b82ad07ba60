#!/usr/bin/env bash
# Instructions per storm of each contender of benches/benches/acknowledgement_waiters.rs,
# counted by callgrind: near-deterministic, where criterion's medians on a shared machine move.
# Each storm runs alone in the bench binary (WAITERS_CONTENDER, see the bench): one storm to
# warm up, then one inside the function `counted`, the only one whose instructions are
# collected.
#
#   bash benches/acknowledgement_waiters_callgrind.sh      # from anywhere; about a minute built
#   SIZES="100 1000 10000" bash benches/acknowledgement_waiters_callgrind.sh
#
# `before` at 10,000 waiters takes several minutes under callgrind (seconds natively), so the
# default sizes stop at 1,000.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-100 1000}
OUT=${OUT:-${CARGO_TARGET_DIR:-target}/acknowledgement-waiters-callgrind}
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

bin=$(cargo bench -q -p sealed-session-benches --bench acknowledgement_waiters --no-run \
  --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" \
            and msg["target"]["name"] == "acknowledgement_waiters" and msg.get("executable"):
        print(msg["executable"])
')

printf '| waiters | before: polls | before: instructions | indexed: polls | indexed: instructions | before / indexed |\n'
printf '|---:|---:|---:|---:|---:|---:|\n'
for n in $SIZES; do
  row="| $n"
  declare -A total=()
  for contender in before indexed; do
    file="$OUT/$contender-$n"
    polls=$(WAITERS_CONTENDER=$contender/$n valgrind --tool=callgrind \
      --toggle-collect='acknowledgement_waiters::counted' --callgrind-out-file="$file" "$bin" \
      2>/dev/null | awk '{ print $2 }')
    total[$contender]=$(awk '/^(summary|totals):/ { print $2; exit }' "$file")
    row="$row | $polls | ${total[$contender]}"
  done
  ratio=$(python3 -c "print(f'{${total[before]} / ${total[indexed]}:.2f}x')")
  printf '%s | %s |\n' "$row" "$ratio"
done
