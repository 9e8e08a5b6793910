#!/usr/bin/env bash
# Score a running MySQL-protocol server (Borealis, or MariaDB/MySQL for comparison) on the
# external sqllogictest corpus in ../shared/conformance, with its runner slt_mysql.py.
#
#   tests/conformance/run.sh ci   [options]   # CI sample: dev set, first N records of each file
#   tests/conformance/run.sh full [options]   # the whole dev set (~4 min on MariaDB, 2 cores)
#
# options (defaults in brackets; the env variables of the same name work too):
#   --host H [127.0.0.1]  --port P [3306]  --user U [root]  --password PW ['']
#   --max-per-file N [300, ci only]  --jobs N [2]  --json OUT [target/conformance/<mode>.json]
#   --compare BASE.json   also print every file where the server passed fewer records than
#                         in BASE.json (e.g. tests/conformance/mariadb-ci.json) and exit 1
#                         if there is one (no regression against the reference)
#   anything after --     passed to slt_mysql.py unchanged
#
# Prints the runner's per-file lines and its summary (pass rate); the last line is
# "N passed, N failed". Exit status: the runner's (0 when the run completed), or 1 with
# --compare when the server is behind the baseline on some file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
conf="${CONFORMANCE_DIR:-$repo/../shared/conformance}"
[ -f "$conf/slt_mysql.py" ] || conf="$(cd "$repo/.." && pwd)/shared/conformance"
[ -f "$conf/slt_mysql.py" ] || { echo "run.sh: cannot find slt_mysql.py (set CONFORMANCE_DIR)" >&2; exit 2; }

mode="${1:-}"
case "$mode" in
  ci|full) shift ;;
  *) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

HOST="${HOST:-127.0.0.1}"; PORT="${PORT:-3306}"; USER_="${SLT_USER:-root}"; PASSWORD="${PASSWORD:-}"
MAX_PER_FILE="${MAX_PER_FILE:-300}"; JOBS="${JOBS:-2}"; JSON="${JSON:-}"; COMPARE="${COMPARE:-}"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --user) USER_="$2"; shift 2 ;;
    --password) PASSWORD="$2"; shift 2 ;;
    --max-per-file) MAX_PER_FILE="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --compare) COMPARE="$2"; shift 2 ;;
    --) shift; extra+=("$@"); break ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$JSON" ] || JSON="$repo/target/conformance/$mode.json"
mkdir -p "$(dirname "$JSON")"

args=(--host "$HOST" --port "$PORT" --user "$USER_" --password "$PASSWORD"
      --list "$conf/dev-set.txt" --jobs "$JOBS" --json "$JSON")
if [ "$mode" = ci ]; then
  args+=(--max-per-file "$MAX_PER_FILE")
fi

set +e
python3 "$conf/slt_mysql.py" "${args[@]}" "${extra[@]}"
status=$?
set -e
echo "run.sh: JSON summary in $JSON"
[ $status -eq 0 ] || exit $status

if [ -n "$COMPARE" ]; then
  python3 - "$COMPARE" "$JSON" <<'PY'
import json, sys
base, cur = (json.load(open(p)) for p in sys.argv[1:3])
if base["summary"].get("max_per_file") != cur["summary"].get("max_per_file"):
    print(f"run.sh: baseline ran max_per_file={base['summary'].get('max_per_file')}, "
          f"this run {cur['summary'].get('max_per_file')}: not comparable", file=sys.stderr)
    sys.exit(2)
cur_files = {f["file"]: f for f in cur["files"]}
behind = []
for f in base["files"]:
    c = cur_files.get(f["file"], {"passed": 0})
    if c["passed"] < f["passed"]:
        behind.append((f["file"], f["passed"], c["passed"]))
b, c = base["summary"], cur["summary"]
def who(s):
    v = s.get("server") or {}
    return v.get("version", "?") if isinstance(v, dict) else str(v)
print(f"baseline ({who(b)}): {b['passed']} passed, {b['pass_rate'] * 100:.3f}%; "
      f"this run ({who(c)}): {c['passed']} passed, {c['pass_rate'] * 100:.3f}%")
for name, bp, cp in behind:
    print(f"  behind baseline: {name}: {cp} passed, baseline {bp}")
sys.exit(1 if behind else 0)
PY
fi
