#!/usr/bin/env bash
# CPU time per slot of `parajam run --dev` (6 s slots), idle and then with
# two paras collating (the adder and runtime/parachain), measured in the
# same run from /proc/<pid>/stat (utime + stime of the node process only),
# plus the 64-client `bestBlock` load on the same node, and the submit ->
# enacted slots from the collators' lines. Usage (from the workspace root,
# after `cargo build --release -p parajam -p parajam-rpc-collator --examples`):
#   parachain/rpc-collator/bench/cpu_per_slot.sh [SLOTS]
set -euo pipefail
SLOTS=${1:-20}
T=${CARGO_TARGET_DIR:-target}/release
B=${PARAJAM_BIN:-$T/parajam}
LOAD=${RPC_LOAD_BIN:-$T/examples/rpc_load}
PORT=${PORT:-19877}
DIR=$(mktemp -d)
TICK=$(getconf CLK_TCK)
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$DIR"; }
PIDS=()
trap cleanup EXIT
"$B" run --dev --rpc-port "$PORT" --no-prometheus --data-path "$DIR/db" >"$DIR/node.log" 2>&1 &
NODE=$!; PIDS+=("$NODE")
slot() { curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"bestBlock","params":[]}' "http://127.0.0.1:$PORT/" |
  sed 's/.*"slot":\([0-9]*\).*/\1/'; }
cpu() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }
until slot >/dev/null 2>&1 && [ -n "$(slot)" ]; do sleep 0.5; done
# Idle: SLOTS slots.
s0=$(slot); c0=$(cpu)
while [ $(( $(slot) - s0 )) -lt "$SLOTS" ]; do sleep 1; done
s1=$(slot); c1=$(cpu)
# RPC load on the idle node.
"$LOAD" "ws://127.0.0.1:$PORT" 64 10 | tee "$DIR/load.txt"
# Two collators; measure once both have enacted a block.
"$B" collate --jam-rpc-url "ws://127.0.0.1:$PORT" --runtime adder >"$DIR/adder.txt" 2>&1 &
PIDS+=($!)
"$B" collate --jam-rpc-url "ws://127.0.0.1:$PORT" --runtime runtime/parachain >"$DIR/para.txt" 2>&1 &
PIDS+=($!)
until grep -q "block #1 " "$DIR/para.txt" && grep -q "block #1 " "$DIR/adder.txt"; do sleep 1; done
s2=$(slot); c2=$(cpu)
while [ $(( $(slot) - s2 )) -lt "$SLOTS" ]; do sleep 1; done
s3=$(slot); c3=$(cpu)
per() { echo "scale=3; ($2 - $1) / $TICK / ($4 - $3)" | bc; }
idle=$(per "$c0" "$c1" "$s0" "$s1"); busy=$(per "$c2" "$c3" "$s2" "$s3")
echo "node CPU per 6 s slot: idle ${idle} s ($(echo "scale=1; $idle * 100 / 6" | bc) %), two paras collating ${busy} s ($(echo "scale=1; $busy * 100 / 6" | bc) %), over $SLOTS slots each"
for f in adder para; do
  echo "$f: $(grep -c ' block #' "$DIR/$f.txt") blocks; submitted -> enacted (slots):" \
    "$(grep ' block #' "$DIR/$f.txt" | awk '{print $14 - $10}' | sort -n | uniq -c | tr '\n' ' ')"
  grep ' block #' "$DIR/$f.txt" | tail -2
done
