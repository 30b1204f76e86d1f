#!/usr/bin/env bash
# Six `parajam run` validators of a `gen-spec` chain on loopback (the tiny
# chain: 6 validators, 2 cores), the adder collator on validator 0's RPC,
# for N slots of SLOT_MS milliseconds. Prints:
#   - missed slots: slots in the window with no block on the final chain;
#   - slots from submission to enactment of each para block (the
#     collator's lines), their mean;
#   - bytes sent per node per slot (parajam_network_bytes_sent_total).
# Usage: PARAJAM_BIN=target/release/parajam SLOT_MS=6000 N=50 net6-bench.sh
# Every process is stopped at the end (and on error or Ctrl-C).
set -euo pipefail
BIN=${PARAJAM_BIN:-target/release/parajam}
SLOT_MS=${SLOT_MS:-6000}
N=${N:-50}
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT

read -r -a PORTS < <(python3 - <<'EOF'
import socket
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
python3 - "$DIR/config.json" "${PORTS[@]}" <<'EOF'
import json, sys
path, ports = sys.argv[1], sys.argv[2:]
json.dump({"id": "net6", "genesis_validators": [
    {"peer_id": f"dev:{i}", "bandersnatch": f"dev:{i}", "net_addr": f"127.0.0.1:{p}"}
    for i, p in enumerate(ports)]}, open(path, "w"))
EOF
"$BIN" gen-spec "$DIR/config.json" "$DIR/spec.json" 2>/dev/null

for i in 0 1 2 3 4 5; do
    NO_COLOR=1 RUST_LOG=warn,parajam=info "$BIN" --chain "$DIR/spec.json" run \
        --data-path "$DIR/d$i" --mode validator --dev-validator "$i" \
        --port "${PORTS[$i]}" --listen-addr 127.0.0.1 --rpc-port 0 \
        --prometheus-port 0 --slot-duration-ms "$SLOT_MS" >"$DIR/log$i" 2>&1 &
    PIDS+=($!)
done

rpc() { # port method params
    curl -s -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "http://$1"
}
addr_of() { grep -o 'JIP-2 RPC on ws://[0-9.:]*' "$DIR/log$1" | head -1 | sed 's|.*ws://||'; }
metrics_of() { grep -o 'Prometheus metrics on http://[0-9.:]*' "$DIR/log$1" | head -1 | sed 's|.*http://||'; }
bytes_sent() {
    curl -s "http://$(metrics_of "$1")/metrics" |
        awk '$1 == "parajam_network_bytes_sent_total" { print $2 }'
}

for _ in $(seq 600); do
    ready=0
    for i in 0 1 2 3 4 5; do grep -q "imported block" "$DIR/log$i" && ready=$((ready + 1)); done
    [ "$ready" = 6 ] && break
    sleep 0.5
done
RPC0=$(addr_of 0)
declare -a B0
for i in 0 1 2 3 4 5; do B0[$i]=$(bytes_sent "$i"); done
S0=$(rpc "$RPC0" bestBlock '[]' | jq .result.slot)

NO_COLOR=1 RUST_LOG=warn "$BIN" collate --jam-rpc-url "ws://$RPC0" --runtime adder \
    >"$DIR/collator" 2>&1 &
PIDS+=($!)
sleep "$(echo "$N * $SLOT_MS / 1000" | bc -l)"

S1=$(rpc "$RPC0" bestBlock '[]' | jq .result.slot)
HASH=$(rpc "$RPC0" bestBlock '[]' | jq -r .result.header_hash)
blocks=0
SLOT=$S1
while [ "$SLOT" -gt "$S0" ]; do
    blocks=$((blocks + 1))
    PARENT=$(rpc "$RPC0" parent "[\"$HASH\"]")
    HASH=$(echo "$PARENT" | jq -r .result.header_hash)
    SLOT=$(echo "$PARENT" | jq .result.slot)
done
slots=$((S1 - S0))
echo "slots $S0..$S1 ($slots at $SLOT_MS ms): $blocks blocks on the final chain, $((slots - blocks)) missed"
grep -o 'submitted at slot [0-9]* enacted at slot [0-9]*' "$DIR/collator" |
    awk '{ d = $8 - $4; s += d; n++; printf "%d ", d } END { if (n) printf "\n%d para blocks, mean %.2f slots from submission to enactment\n", n, s / n }'
for i in 0 1 2 3 4 5; do
    b=$(bytes_sent "$i")
    echo "validator $i: $(( (${b%.*} - ${B0[$i]%.*}) / slots )) bytes sent per slot"
done
grep -h "dropped so far" "$DIR"/log* | head -3 || true
