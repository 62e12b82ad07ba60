#!/usr/bin/env bash
# Instructions per call of each contender of benches/benches/hand_written.rs, counted by
# callgrind: near-deterministic where criterion's medians on a shared machine move by tens of
# percent. Each contender runs alone in the bench binary under callgrind (HAND_WRITTEN_CALLS and
# HAND_WRITTEN_CONTENDER, see the bench): 1,000 calls to warm up, then N calls inside the
# function `counted`, the only one whose instructions are collected; the total over N is the
# count per call. Instructions the kernel runs (the `getrandom` of a seal) are not counted.
#
#   bash benches/hand_written_callgrind.sh            # from anywhere; under a minute once built
#   N=20000 ONLY=entries/entries_typical bash benches/hand_written_callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
OUT=${OUT:-${CARGO_TARGET_DIR:-target}/hand-written-callgrind}
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

bin=$(cargo bench -q -p sealed-session-benches --bench hand_written --no-run \
  --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "hand_written" \
            and msg.get("executable"):
        print(msg["executable"])
')

printf '| contender | instructions per call |\n|---|---:|\n'
for contender in ${ONLY:-$(HAND_WRITTEN_CALLS=0 "$bin" | grep /)}; do
  file="$OUT/${contender//\//-}"
  HAND_WRITTEN_CALLS=$N HAND_WRITTEN_CONTENDER=$contender valgrind --tool=callgrind \
    --toggle-collect='hand_written::counted' --callgrind-out-file="$file" "$bin" >/dev/null 2>&1
  total=$(awk '/^(summary|totals):/ { print $2; exit }' "$file")
  printf '| %s | %s |\n' "$contender" "$(( total / N ))"
done
