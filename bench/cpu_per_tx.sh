#!/usr/bin/env bash
# CPU per transaction of a MySQL-protocol server, of sysbench and of the whole machine,
# for one sysbench run: where a saturated machine's time goes (bench/RESULTS.md, s15).
#
#   bench/cpu_per_tx.sh SERVER_PID PORT WORKLOAD THREADS SECONDS
#
# Environment: USER_NAME (root), PASSWORD (secret), DB (sbtest), TABLES (4),
# TABLE_SIZE (20000); the tables must be loaded already (sysbench ... prepare).
# Server CPU is utime + stime of SERVER_PID from /proc over the run; sysbench's comes from
# /usr/bin/time; machine busy time from /proc/stat. All are divided by the transactions
# sysbench reports.
set -euo pipefail
if [[ $# -ne 5 ]]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
PID=$1 PORT=$2 WL=$3 THREADS=$4 SECS=$5
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
c0=$(cpu); m0=$(head -1 /proc/stat)
/usr/bin/time -f "%U %S" -o "$OUT/time" sysbench "$WL" --db-driver=mysql \
  --mysql-host=127.0.0.1 --mysql-port="$PORT" --mysql-user="${USER_NAME:-root}" \
  --mysql-password="${PASSWORD:-secret}" --mysql-db="${DB:-sbtest}" \
  --tables="${TABLES:-4}" --table-size="${TABLE_SIZE:-20000}" \
  --threads="$THREADS" --time="$SECS" --report-interval=0 run > "$OUT/sysbench"
c1=$(cpu); m1=$(head -1 /proc/stat)
python3 - "$c0" "$c1" "$m0" "$m1" "$(cat "$OUT/time")" "$WL x$THREADS" "$OUT/sysbench" \
  "$(getconf CLK_TCK)" <<'PY'
import re, sys
c0, c1 = int(sys.argv[1]), int(sys.argv[2])
m0 = [int(x) for x in sys.argv[3].split()[1:]]
m1 = [int(x) for x in sys.argv[4].split()[1:]]
user, sys_t = map(float, sys.argv[5].split())
hz = int(sys.argv[8])
m = re.search(r"transactions:\s+(\d+)\s+\(([\d.]+) per sec", open(sys.argv[7]).read())
if not m:
    sys.exit("no transaction count in sysbench's output")
tx, tps = float(m.group(1)), float(m.group(2))
d = [b - a for a, b in zip(m0, m1)]
total, idle = sum(d), d[3] + d[4]
us = 1e6 / hz
print("%s: %.1f tps | server %.0f us/tx | sysbench %.0f us/tx | machine busy %.0f us/tx "
      "(idle %.0f%%, system %.0f%%, softirq %.0f%%)" % (
          sys.argv[6], tps, (c1 - c0) * us / tx, (user + sys_t) * 1e6 / tx,
          (total - idle) * us / tx, 100 * idle / total, 100 * d[2] / total,
          100 * d[6] / total))
PY
