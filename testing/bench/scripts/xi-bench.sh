#!/usr/bin/env bash
# Ξ of the real CoreChains service program on the PVM against the relay
# chain's wasm executor, per runtime/parachain block, in one run of
# `parajam pvf check` (issue 19). Runs each configuration in turn, ROUNDS
# times, idle and then with the other core busy (a CPU-bound busy loop this
# script starts and stops), and prints per run: the first block's Ξ/wasm
# (cold: program load and compile included) and the median of the warm
# blocks' Ξ/wasm ratios and Ξ in ms.
#
# usage: xi-bench.sh PARAJAM_BINARY [ROUNDS] [BLOCKS]
# configurations: XI_CONFIGS, `;`-separated, each `label=ENV... -- ARGS`,
# e.g. 'interpreter=-- --backend interpreter;auto=--' (the default: auto, the
# recompiler in the Linux sandbox, the interpreter).
set -euo pipefail
bin=${1:?usage: xi-bench.sh PARAJAM_BINARY [ROUNDS] [BLOCKS]}
rounds=${2:-3}
blocks=${3:-6}
configs=${XI_CONFIGS:-'auto=--;linux=PARAJAM_PVM_SANDBOX=linux -- --backend compiler;interpreter=-- --backend interpreter'}
root=$(cd "$(dirname "$0")/../../.." && pwd)

one() { # label envs -- args
  local label=$1 load=$2; shift 2
  local envs=() args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  args=("$@")
  local out
  out=$(cd "$root" && env "${envs[@]}" "$bin" pvf check --runtime runtime/parachain \
        --blocks "$blocks" --upgrade none "${args[@]}" 2>&1) || { echo "$label: FAILED"; echo "$out" | tail -3; return; }
  echo "$out" | awk -v label="$label" -v load="$load" '
    function isort(a, n,    i, j, t) {
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    }
    /PVM refine \(Ξ\)/ && /^  time:/ {
      match($0, /wasm [0-9.]+ ms/); w = substr($0, RSTART + 5, RLENGTH - 8) + 0
      match($0, /\(Ξ\) [0-9.]+ ms/); x = substr($0, RSTART + 5, RLENGTH - 8) + 0
      n++; wasm[n] = w; xi[n] = x; r[n] = x / w
    }
    /^time:/ { total = $0 }
    END {
      m = 0; for (i = 2; i <= n; i++) { m++; rr[m] = r[i]; xx[m] = xi[i] }
      isort(rr, m); isort(xx, m)
      med = (m % 2) ? rr[(m + 1) / 2] : (rr[m / 2] + rr[m / 2 + 1]) / 2
      medx = (m % 2) ? xx[(m + 1) / 2] : (xx[m / 2] + xx[m / 2 + 1]) / 2
      printf "%-28s %-5s first %6.2fx (%7.1f ms)  warm median %5.2fx (%6.1f ms, min %5.2fx max %5.2fx)\n",
        label, load, r[1], xi[1], med, medx, rr[1], rr[m]
    }'
}

run_all() { # load
  local load=$1
  for ((i = 1; i <= rounds; i++)); do
    IFS=';' read -ra list <<< "$configs"
    for c in "${list[@]}"; do
      local label=${c%%=*} rest=${c#*=}
      # shellcheck disable=SC2086
      one "$label" "$load" $rest
    done
  done
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run_all idle
busy() { while :; do :; done; }
busy & hog=$!
trap 'kill $hog 2>/dev/null || true' EXIT
run_all busy
kill $hog; wait $hog 2>/dev/null || true
trap - EXIT
echo "# done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
