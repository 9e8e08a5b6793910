#!/usr/bin/env bash
# Replica lag of the embedded default: `borealis serve --replicas N` (writer and N read
# replicas in one process on the in-process six-node volume), measured through the
# reader endpoint (each probe connection lands on one replica; the first column is the
# number of replicas running) by `borealis-bench lag` (a timestamped row committed on the writer,
# polled on the replica side) under paced write rates and under oltp_write_only at full
# speed. The lag_cluster.sh twin measures separate processes over TCP.
#
#   bench/lag_inprocess.sh [replica counts (default "1 2 4")] [loads (default
#     "oltp_write_only 1000,5000,max")] [seconds (default 15)] [writer connections (16)]
#
# Needs release builds: cargo build --release -p borealis-server -p borealis-bench
set -euo pipefail
COUNTS=${1:-"1 2 4"}
LOADS=${2:-"oltp_write_only 1000,5000,max"}
SECS=${3:-15}
CONNS=${4:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/target/release
WORK=$(mktemp -d /tmp/borealis-lag-ip.XXXXXX)
PID=""
cleanup() { [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

wait_line() { # file pattern -> the rest of the first matching line
  for _ in $(seq 1 600); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1" | sed "s/.*$2//"; return; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2; exit 1
}

for n in $COUNTS; do
  for load in $LOADS; do
    rm -rf "$WORK/d"
    "$BIN/borealis" serve --replicas "$n" --port 0 --reader-port 0 --skip-ssl \
      --root-password pw --datadir "$WORK/d" >"$WORK/s.out" 2>/dev/null &
    PID=$!
    W=$(wait_line "$WORK/s.out" "ready for connections on ")
    R=$(wait_line "$WORK/s.out" "replicas ready on ")
    "$BIN/borealis-bench" exec --target "mysql://root:pw@$W/" "CREATE DATABASE lagdb" >/dev/null
    case $load in
    oltp_*)
      "$BIN/borealis-bench" prepare --target "mysql://root:pw@$W/lagdb" --tables 4 \
        --table-size 10000 --quiet >/dev/null
      L=(--load "$load" --load-threads "$CONNS" --tables 4 --table-size 10000) ;;
    *) L=(--rate "$load" --rate-threads "$CONNS") ;;
    esac
    "$BIN/borealis-bench" lag --writer "mysql://root:pw@$W/lagdb" \
      --replica "mysql://root:pw@$R/lagdb" "${L[@]}" --time "$SECS" --interval-ms 5 |
      grep '^| [0-9]' | sed "s/^| [0-9]* |/| $n |/"
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
  done
done
