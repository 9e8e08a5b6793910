#!/usr/bin/env bash
# Replica lag of a cluster of processes: six storage nodes, a writer and N replicas
# following the log from storage, measured by `borealis-bench lag` (a timestamped row
# committed on the writer, polled on every replica) at paced write rates.
#
#   bench/lag_cluster.sh [replica counts (default "1 2 4")] [rates (default 1000,5000,max)] \
#     [seconds (default 10)] [writer connections of the background load (default 32)]
#
# A workload name instead of rates (e.g. oltp_write_only) runs that sysbench workload
# (borealis-bench's implementation, 4 tables x 10,000 rows) on the writer at full speed
# with that many connections while probing.
#
# Group commit needs concurrency: each connection has one commit in flight, waiting for
# 4 of 6 storage nodes to fsync, so the load's write rate is bounded by connections /
# commit latency.
#
# Needs release builds: cargo build --release -p borealis-server -p borealis-bench
set -euo pipefail
COUNTS=${1:-"1 2 4"}
RATES=${2:-1000,5000,max}
SECS=${3:-10}
CONNS=${4:-32}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release
WORK=$(mktemp -d /tmp/borealis-lag.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

wait_line() { # file pattern -> the rest of the first matching line
  for _ in $(seq 1 600); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1" | sed "s/.*$2//"; return; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2; exit 1
}

# CPU seconds (user + system) used so far by the cluster's processes.
cluster_cpu() {
  local t=0 p f
  for p in "${PIDS[@]}"; do
    f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${f% *} + ${f#* }))
  done
  echo "$t $(getconf CLK_TCK)" | awk '{printf "%.1f", $1 / $2}'
}

first=1
for n in $COUNTS; do
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  PIDS=()
  rm -rf "$WORK"/*
  for i in 0 1 2 3 4 5; do
    "$BIN/borealis" storage-node --id $i --az $((i / 2)) --dir "$WORK/n$i" \
      --peers-dir "$WORK/addrs" >"$WORK/node$i.out" 2>/dev/null &
    PIDS+=($!)
    disown "$!" # no "Killed" notices when the cluster is torn down
  done
  NODES=""
  for i in 0 1 2 3 4 5; do
    a=$(wait_line "$WORK/node$i.out" "listening ")
    NODES="${NODES:+$NODES,}$a"
  done
  COMMON=(serve --port 0 --skip-ssl --root-password pw --storage-nodes "$NODES")
  "$BIN/borealis" "${COMMON[@]}" --datadir "$WORK/w" --reader-port 0 >"$WORK/w.out" 2>/dev/null &
  PIDS+=($!)
  disown "$!"
  W=$(wait_line "$WORK/w.out" "ready for connections on ")
  REPS=()
  for r in $(seq 1 "$n"); do
    "$BIN/borealis" "${COMMON[@]}" --role replica --datadir "$WORK/r$r" >"$WORK/r$r.out" 2>/dev/null &
    PIDS+=($!)
    disown "$!"
    R=$(wait_line "$WORK/r$r.out" "ready for connections on ")
    REPS+=(--replica "mysql://root:pw@$R/lagdb")
  done
  "$BIN/borealis-bench" exec --target "mysql://root:pw@$W/" "CREATE DATABASE IF NOT EXISTS lagdb" >/dev/null
  case $RATES in
  oltp_*)
    "$BIN/borealis-bench" prepare --target "mysql://root:pw@$W/lagdb" --tables 4 \
      --table-size 10000 --quiet >/dev/null
    LOAD=(--load "$RATES" --load-threads "$CONNS" --tables 4 --table-size 10000) ;;
  *) LOAD=(--rate "$RATES" --rate-threads "$CONNS") ;;
  esac
  cpu0=$(cluster_cpu)
  t0=$(date +%s.%N)
  out=$("$BIN/borealis-bench" lag --writer "mysql://root:pw@$W/lagdb" "${REPS[@]}" \
    "${LOAD[@]}" --time "$SECS" --interval-ms 5)
  cpu1=$(cluster_cpu)
  t1=$(date +%s.%N)
  # On stderr: how much of the machine's CPU the cluster itself used (the rest went to
  # the benchmark client and to other processes).
  echo "$n replicas: cluster CPU $(echo "$cpu0 $cpu1 $t0 $t1" |
    awk '{printf "%.1f s in %.1f s wall = %.2f cores", $2 - $1, $4 - $3, ($2 - $1) / ($4 - $3)}')" >&2
  if [ $first = 1 ]; then echo "$out"; first=0; else echo "$out" | tail -n +3; fi
done
