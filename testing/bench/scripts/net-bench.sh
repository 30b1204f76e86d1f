#!/usr/bin/env bash
# V `parajam run` validators of a `gen-spec` chain on loopback (PARAMS=tiny:
# V=6, 2 cores; PARAMS=tiny-12: V=12, 4 cores), PARAS adder collators (1 or
# 2: paras 2000 and 2001, on cores 0 and 1) on validator 0's RPC, for N slots
# of SLOT_MS milliseconds. Prints:
#   - missed slots: slots in the window with no block on the final chain;
#   - slots from submission to enactment of each para block (the
#     collator's lines), their mean;
#   - bytes sent per node per slot (parajam_network_bytes_sent_total).
# Usage: PARAJAM_BIN=target/release/parajam SLOT_MS=6000 N=50 PARAMS=tiny PARAS=1 net-bench.sh
# Every process is stopped at the end (and on error or Ctrl-C); KEEP=1
# keeps the logs.
set -euo pipefail
BIN=${PARAJAM_BIN:-target/release/parajam}
SLOT_MS=${SLOT_MS:-6000}
N=${N:-50}
PARAMS=${PARAMS:-tiny}
PARAS=${PARAS:-1}
case "$PARAMS" in
    tiny) V=6 ;;
    tiny-12) V=12 ;;
    *) echo "PARAMS: tiny or tiny-12" >&2; exit 2 ;;
esac
LAST=$((V - 1))
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

read -r -a PORTS < <(python3 - "$V" <<'EOF'
import socket, sys
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
python3 - "$DIR/config.json" "${PORTS[@]}" <<'EOF'
import json, sys
path, ports = sys.argv[1], sys.argv[2:]
json.dump({"id": "net", "genesis_validators": [
    {"peer_id": f"dev:{i}", "bandersnatch": f"dev:{i}", "net_addr": f"127.0.0.1:{p}"}
    for i, p in enumerate(ports)]}, open(path, "w"))
EOF
"$BIN" gen-spec --params "$PARAMS" "$DIR/config.json" "$DIR/spec.json" 2>/dev/null

for i in $(seq 0 "$LAST"); do
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
    for i in $(seq 0 "$LAST"); do grep -q "imported block" "$DIR/log$i" && ready=$((ready + 1)); done
    [ "$ready" = "$V" ] && break
    sleep 0.5
done
RPC0=$(addr_of 0)
declare -a B0
for i in $(seq 0 "$LAST"); do B0[$i]=$(bytes_sent "$i"); done
S0=$(rpc "$RPC0" bestBlock '[]' | jq .result.slot)

for p in $(seq 0 $((PARAS - 1))); do
    NO_COLOR=1 RUST_LOG=warn "$BIN" collate --jam-rpc-url "ws://$RPC0" --runtime adder \
        --para-id $((2000 + p)) --core "$p" >"$DIR/collator$p" 2>&1 &
    PIDS+=($!)
done
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
cat "$DIR"/collator* | grep -o 'submitted at slot [0-9]* enacted at slot [0-9]*' |
    awk '{ d = $8 - $4; s += d; n++; printf "%d ", d } END { if (n) printf "\n%d para blocks, mean %.2f slots from submission to enactment\n", n, s / n; else print "no para block enacted" }' || true
for i in $(seq 0 "$LAST"); do
    b=$(bytes_sent "$i")
    echo "validator $i: $(( (${b%.*} - ${B0[$i]%.*}) / slots )) bytes sent per slot"
done
grep -h "dropped so far" "$DIR"/log* | head -3 || true
