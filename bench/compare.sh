#!/usr/bin/env bash
# Borealis vs MariaDB (and, in-process, the embedded engine vs SQLite), side by side on
# this machine, with sysbench's OLTP workloads.
#
# What it does, in order:
#   1. builds borealis-bench and the Borealis server in release mode;
#   2. starts Borealis (`borealis serve`, waits for "ready for connections"); if the
#      binary is missing or does not come up, says so and goes on without it;
#   3. starts MariaDB with the configuration of shared/baseline/mariadb_sysbench.sh
#      (innodb_flush_log_at_trx_commit=$FLUSH, 4G buffer pool, no binlog) on its own
#      port and datadir, if `mariadbd` is installed. It is NOT installed silently:
#      install it with `apt-get install -y mariadb-server` (Debian), then rerun;
#   4. loads the same data into both (same seed, same generator) and waits for InnoDB's
#      checkpoint after the load, as the baseline does;
#   5. runs each workload at each thread count, alternating the targets, and prints a
#      Markdown table with the Borealis/MariaDB ratios; writes RESULTS.md, results.json
#      and SVG plots to $OUT; records the peak RSS of each server during each run;
#   6. with MODE=sysbench or MODE=both, drives the real `sysbench` binary against both
#      servers too (apt-get install -y sysbench), table in $OUT/sysbench.md;
#   7. with INPROCESS=1, also compares the embedded engine with SQLite in-process
#      (Borealis fsync on vs SQLite synchronous=FULL, and fsync off vs NORMAL).
# The servers it started are stopped (by PID) on exit.
#
# Usage: bench/compare.sh            (defaults below; every knob is an environment variable)
#   WORKLOADS=oltp_point_select,oltp_read_write THREADS=1,8,32 TIME=30 WARMUP=5
#   TABLES=4 TABLE_SIZE=100000 FLUSH=1 MODE=rust|sysbench|both INPROCESS=0|1
#   OUT=bench/results/<date>  BASE=/tmp/borealis-compare  BOREALIS_PORT=3407 MARIADB_PORT=3406
#   SETTLE_MAX=120 (s, bound on the post-load InnoDB checkpoint wait)  SKIP_BUILD=1
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORKLOADS=${WORKLOADS:-oltp_point_select,oltp_read_only,oltp_read_write,oltp_write_only,oltp_insert}
THREADS=${THREADS:-1,8,32}
TIME=${TIME:-30}
WARMUP=${WARMUP:-5}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-100000}
FLUSH=${FLUSH:-1}
MODE=${MODE:-rust}
INPROCESS=${INPROCESS:-0}
SEED=${SEED:-1}
BASE=${BASE:-/tmp/borealis-compare}
BOREALIS_PORT=${BOREALIS_PORT:-3407}
MARIADB_PORT=${MARIADB_PORT:-3406}
ROOT_PW=${ROOT_PW:-borealis-bench}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%d-%H%M)}
SETTLE_MAX=${SETTLE_MAX:-120}

BENCH=$ROOT/target/release/borealis-bench
BOREALIS=$ROOT/target/release/borealis
MDB=$BASE/mariadb
CNF=$MDB/my.cnf
BOREALIS_PID=""
MARIADB_PID=""

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

cleanup() {
  if [[ -n $BOREALIS_PID ]] && kill -0 "$BOREALIS_PID" 2>/dev/null; then
    log "stopping borealis (pid $BOREALIS_PID)"
    kill "$BOREALIS_PID" 2>/dev/null || true
  fi
  if [[ -n $MARIADB_PID ]] && kill -0 "$MARIADB_PID" 2>/dev/null; then
    log "stopping mariadbd (pid $MARIADB_PID)"
    kill "$MARIADB_PID" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$MARIADB_PID" 2>/dev/null || break; sleep 0.5; done
  fi
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

build() {
  if [[ ${SKIP_BUILD:-0} == 1 ]]; then return; fi
  log "building borealis-bench (release)"
  (cd "$ROOT" && cargo build --release -p borealis-bench)
  log "building borealis-server (release)"
  if ! (cd "$ROOT" && cargo build --release -p borealis-server); then
    log "borealis-server does not build; continuing without it"
  fi
}

start_borealis() {
  if [[ ! -x $BOREALIS ]]; then
    log "no Borealis server binary at $BOREALIS: Borealis is left out of this comparison"
    return 1
  fi
  port_free "$BOREALIS_PORT" || { log "port $BOREALIS_PORT is in use; set BOREALIS_PORT"; return 1; }
  rm -rf "$BASE/borealis"; mkdir -p "$BASE/borealis"
  log "starting borealis on 127.0.0.1:$BOREALIS_PORT (datadir $BASE/borealis)"
  "$BOREALIS" serve --datadir "$BASE/borealis/data" --port "$BOREALIS_PORT" \
    --root-password "$ROOT_PW" > "$BASE/borealis/server.log" 2>&1 &
  BOREALIS_PID=$!
  for _ in $(seq 1 240); do
    if grep -q "ready for connections" "$BASE/borealis/server.log"; then
      log "borealis pid $BOREALIS_PID ready"
      "$BENCH" exec --target "mysql://root:$ROOT_PW@127.0.0.1:$BOREALIS_PORT/" \
        "CREATE DATABASE IF NOT EXISTS sbtest" >/dev/null
      return 0
    fi
    if ! kill -0 "$BOREALIS_PID" 2>/dev/null; then
      log "borealis exited before it was ready; its output:"
      sed 's/^/    /' "$BASE/borealis/server.log" >&2
      BOREALIS_PID=""
      log "Borealis is left out of this comparison"
      return 1
    fi
    sleep 0.25
  done
  log "borealis did not print 'ready for connections' within 60 s; left out"
  kill "$BOREALIS_PID" 2>/dev/null || true
  BOREALIS_PID=""
  return 1
}

start_mariadb() {
  if ! command -v mariadbd >/dev/null; then
    log "mariadbd is not installed: MariaDB is left out. To include it: apt-get install -y mariadb-server"
    return 1
  fi
  port_free "$MARIADB_PORT" || { log "port $MARIADB_PORT is in use; set MARIADB_PORT"; return 1; }
  mkdir -p "$MDB/data"
  chown mysql:mysql "$MDB" "$MDB/data" 2>/dev/null || true
  # The baseline's configuration (shared/baseline/mariadb_sysbench.sh), on our own port
  # and datadir so it cannot collide with another MariaDB on this machine.
  cat > "$CNF" <<EOF
[mysqld]
user                           = mysql
datadir                        = $MDB/data
socket                         = $MDB/mysqld.sock
pid-file                       = $MDB/mysqld.pid
log-error                      = $MDB/mysqld.err
bind-address                   = 127.0.0.1
port                           = $MARIADB_PORT
skip-name-resolve
innodb_buffer_pool_size        = 4G
innodb_flush_log_at_trx_commit = $FLUSH
skip-log-bin
max_connections                = 512
performance_schema             = OFF
general_log                    = OFF

[client]
socket                         = $MDB/mysqld.sock
EOF
  if [[ ! -d $MDB/data/mysql ]]; then
    log "initialising MariaDB datadir $MDB/data"
    mariadb-install-db --defaults-file="$CNF" --user=mysql --datadir="$MDB/data" > "$MDB/install-db.log" 2>&1
  fi
  log "starting mariadbd on 127.0.0.1:$MARIADB_PORT (innodb_flush_log_at_trx_commit=$FLUSH)"
  mariadbd --defaults-file="$CNF" > /dev/null 2>&1 < /dev/null &
  MARIADB_PID=$!
  for _ in $(seq 1 120); do
    mariadb-admin --defaults-file="$CNF" -uroot ping >/dev/null 2>&1 && break
    kill -0 "$MARIADB_PID" 2>/dev/null || { log "mariadbd exited; see $MDB/mysqld.err"; MARIADB_PID=""; return 1; }
    sleep 0.5
  done
  mariadb --defaults-file="$CNF" -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS sbtest;
CREATE USER IF NOT EXISTS 'sbtest'@'127.0.0.1' IDENTIFIED BY 'sbtest';
GRANT ALL PRIVILEGES ON sbtest.* TO 'sbtest'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
  log "mariadbd pid $MARIADB_PID up: $(mariadb --defaults-file="$CNF" -uroot -N -e 'SELECT CONCAT(@@version, " flush_log_at_trx_commit=", @@innodb_flush_log_at_trx_commit, " buffer_pool=", @@innodb_buffer_pool_size)')"
}

# Wait (bounded) until InnoDB has checkpointed what the load wrote, as the baseline does:
# otherwise its background flushing competes with the first runs.
settle_mariadb() {
  [[ -n $MARIADB_PID ]] || return 0
  local t0=$SECONDS age lim
  lim=$(mariadb --defaults-file="$CNF" -uroot -N -e "SELECT @@innodb_log_file_size DIV 10")
  while (( SECONDS - t0 < SETTLE_MAX )); do
    age=$(mariadb --defaults-file="$CNF" -uroot -N -e "SHOW GLOBAL STATUS LIKE 'Innodb_checkpoint_age'" | awk '{print $2}')
    (( age < lim )) && break
    sleep 2
  done
  log "MariaDB settle after load: $((SECONDS - t0)) s (checkpoint age $age, limit $lim)"
}

hwm() { awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "-"; }

run_sysbench() {
  if ! command -v sysbench >/dev/null; then
    log "sysbench is not installed: skipping the sysbench runs. To include them: apt-get install -y sysbench"
    return 0
  fi
  local -a names=() conns=()
  if [[ -n $BOREALIS_PID ]]; then
    names+=(borealis); conns+=("--mysql-host=127.0.0.1 --mysql-port=$BOREALIS_PORT --mysql-user=root --mysql-password=$ROOT_PW --mysql-db=sbtest")
  fi
  if [[ -n $MARIADB_PID ]]; then
    names+=(mariadb); conns+=("--mysql-host=127.0.0.1 --mysql-port=$MARIADB_PORT --mysql-user=sbtest --mysql-password=sbtest --mysql-db=sbtest")
  fi
  local md=$OUT/sysbench.md raw=$OUT/sysbench-raw
  mkdir -p "$raw"
  {
    echo "# sysbench $(sysbench --version | awk '{print $2}') against each server"
    echo
    echo "tables=$TABLES table_size=$TABLE_SIZE time=${TIME}s; sysbench defaults otherwise (--rand-type=special, --db-ps-mode=auto)."
    echo
    echo "| target | workload | thr | TPS | QPS | avg ms | p95 ms | err/s |"
    echo "|---|---|---|---|---|---|---|---|"
  } > "$md"
  local i
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    sysbench oltp_read_write --db-driver=mysql ${conns[$i]} --tables="$TABLES" --table-size="$TABLE_SIZE" cleanup > "$raw/${names[$i]}-cleanup.txt" 2>&1 || true
    log "sysbench prepare on ${names[$i]}"
    # shellcheck disable=SC2086
    sysbench oltp_read_write --db-driver=mysql ${conns[$i]} --tables="$TABLES" --table-size="$TABLE_SIZE" prepare > "$raw/${names[$i]}-prepare.txt" 2>&1 \
      || { log "sysbench prepare failed on ${names[$i]}: $(tail -3 "$raw/${names[$i]}-prepare.txt")"; }
  done
  settle_mariadb
  local w t
  for w in ${WORKLOADS//,/ }; do
    for t in ${THREADS//,/ }; do
      for i in "${!names[@]}"; do
        local f="$raw/${names[$i]}-$w-$t.txt"
        log "sysbench $w threads=$t on ${names[$i]}"
        # shellcheck disable=SC2086
        sysbench "$w" --db-driver=mysql ${conns[$i]} --tables="$TABLES" --table-size="$TABLE_SIZE" \
          --threads="$t" --time="$TIME" --report-interval=0 run > "$f" 2>&1 || log "sysbench failed: $(tail -2 "$f")"
        awk -v n="${names[$i]}" -v wl="$w" -v th="$t" '
          /transactions:/            { gsub(/[()]/,"",$3); tps=$3 }
          /queries:/ && /per sec/    { gsub(/[()]/,"",$3); qps=$3 }
          /ignored errors:/          { gsub(/[()]/,"",$4); err=$4 }
          /^ +avg:/                  { avg=$2 }
          /95th percentile:/         { p95=$3 }
          END { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", n, wl, th, tps, qps, avg, p95, err }
        ' "$f" >> "$md"
      done
    done
  done
  cat "$md"
}

main() {
  mkdir -p "$BASE" "$OUT"
  build
  [[ -x $BENCH ]] || { log "no $BENCH; build failed?"; exit 1; }
  local -a targets=() rss=()
  if start_borealis; then
    targets+=(--target "borealis=mysql://root:$ROOT_PW@127.0.0.1:$BOREALIS_PORT/sbtest")
    rss+=(--rss-pid "borealis=$BOREALIS_PID")
  fi
  if start_mariadb; then
    targets+=(--target "mariadb=mysql://sbtest:sbtest@127.0.0.1:$MARIADB_PORT/sbtest")
    rss+=(--rss-pid "mariadb=$MARIADB_PID")
  fi
  local common=(--workloads "$WORKLOADS" --threads "$THREADS" --time "$TIME" --warmup "$WARMUP"
                --tables "$TABLES" --table-size "$TABLE_SIZE" --seed "$SEED" --load-threads 2)
  if [[ ${#targets[@]} -gt 0 && ( $MODE == rust || $MODE == both ) ]]; then
    # Load every server with the same generator and seed, then let InnoDB settle.
    for spec in "${targets[@]}"; do
      [[ $spec == --target ]] && continue
      log "loading ${spec%%=*}"
      "$BENCH" prepare --target "${spec#*=}" --tables "$TABLES" --table-size "$TABLE_SIZE" \
        --seed "$SEED" --load-threads 2
    done
    settle_mariadb
    "$BENCH" compare "${targets[@]}" "${rss[@]}" "${common[@]}" --out "$OUT/servers"
  elif [[ ${#targets[@]} -eq 0 ]]; then
    log "no server target is available (see above)"
  fi
  if [[ $MODE == sysbench || $MODE == both ]]; then
    run_sysbench
  fi
  if [[ $INPROCESS == 1 ]]; then
    rm -rf "$BASE/inproc"; mkdir -p "$BASE/inproc"
    "$BENCH" compare --prepare "${common[@]}" \
      --target "embedded-fsync=embedded:$BASE/inproc/emb-fsync?fsync=on" \
      --target "sqlite-full=sqlite:$BASE/inproc/full.db?sync=FULL" \
      --target "embedded-nofsync=embedded:$BASE/inproc/emb-nofsync?fsync=off" \
      --target "sqlite-normal=sqlite:$BASE/inproc/normal.db?sync=NORMAL" \
      --out "$OUT/inprocess" || log "in-process comparison failed (see above)"
  fi
  [[ -n $BOREALIS_PID ]] && log "borealis lifetime peak RSS (VmHWM): $(hwm "$BOREALIS_PID")"
  [[ -n $MARIADB_PID ]] && log "mariadbd lifetime peak RSS (VmHWM): $(hwm "$MARIADB_PID")"
  log "results in $OUT"
}

main "$@"
