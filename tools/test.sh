#!/usr/bin/env bash
# The whole test suite: compile, ruff, mypy, Slither, then pytest (in-process chain,
# anvil, geth, Kubo, IPFS Cluster, Chromium). Called by `make test` and so by .ci/run.
# Each gate runs on its own line so that `set -e` stops at the first failure.
#
# pytest runs as two lanes side by side (most tests wait on daemons, blocks and
# subprocesses, so two lanes on 2 cores take little more than half the time of one):
# pytest-split cuts the collected order into two contiguous chunks of equal recorded
# duration (tests/durations.json), each lane with its own temporary folder and half of
# the daemon port range (MEDCHAIN_PORT_RANGE). Arguments (a path, -k, -m ...) run one lane.
# MEDCHAIN_STORE_DURATIONS=1 re-records tests/durations.json from the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/env.sh
echo "== compile"
ape compile
echo "== ruff"
ruff format --check .
ruff check .
echo "== mypy"
mypy
echo "== slither"
python tools/toolchain.py slither

if [ "$#" -gt 0 ]; then
  echo "== pytest $*"
  exec ape test --durations=30 "$@"
fi

LANES=2
PORTS=("20000-26349" "26350-32699")  # below the kernel's ephemeral range (32768-)
DURATIONS=tests/durations.json
work="$(mktemp -d "${TMPDIR:-/tmp}/medchain-test.XXXXXX")"
trap 'kill $(jobs -p) 2>/dev/null || true' INT TERM
echo "== pytest in $LANES lanes (logs: $work/lane<N>.log; lane 2 is printed when it ends)"
store=()
pids=()
for lane in $(seq 1 "$LANES"); do
  if [ "${MEDCHAIN_STORE_DURATIONS:-}" = 1 ]; then
    cp "$DURATIONS" "$work/durations$lane.json"
    store=(--store-durations "--durations-path=$work/durations$lane.json")
  else
    store=("--durations-path=$DURATIONS")
  fi
  # options as --name=value: ape passes a separate value on as a test path
  args=("--splits=$LANES" "--group=$lane" --splitting-algorithm=duration_based_chunks
        "${store[@]}" "--basetemp=$work/tmp$lane" --durations=15)
  if [ "$lane" = 1 ]; then
    (MEDCHAIN_PORT_RANGE="${PORTS[0]}" ape test "${args[@]}" 2>&1 | tee "$work/lane1.log"
     exit "${PIPESTATUS[0]}") &
  else
    MEDCHAIN_PORT_RANGE="${PORTS[$((lane - 1))]}" ape test "${args[@]}" >"$work/lane$lane.log" 2>&1 &
  fi
  pids+=("$!")
  sleep 5  # staggered: both lanes load .build/ at start (starting them at once was not tried)
done

status=0
for lane in $(seq 1 "$LANES"); do
  wait "${pids[$((lane - 1))]}" || status=1
done
for lane in $(seq 2 "$LANES"); do
  echo "== pytest lane $lane of $LANES"
  cat "$work/lane$lane.log"
done
echo "== pytest summary"
for lane in $(seq 1 "$LANES"); do
  echo "lane $lane: $(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$work/lane$lane.log" | tail -1)"
done
if [ "${MEDCHAIN_STORE_DURATIONS:-}" = 1 ]; then
  python - "$DURATIONS" "$work"/durations*.json <<'EOF'
import json, sys
# Each lane started from the recorded file (to split by it) and overwrote the tests it
# ran: keep those, so tests that no longer exist drop out.
with open(sys.argv[1]) as f:
    before = json.load(f)
merged = {}
for path in sys.argv[2:]:
    with open(path) as f:
        merged.update({k: v for k, v in json.load(f).items() if before.get(k) != v})
with open(sys.argv[1], "w") as out:
    json.dump(dict(sorted(merged.items())), out, indent=1)
    out.write("\n")
print(f"{sys.argv[1]}: {len(merged)} test durations recorded")
EOF
fi
exit "$status"
