#!/usr/bin/env bash
# The CPU work of the whole test suite, every process counted (pytest, PostgreSQL, Valkey, Chromium, the live
# servers): pytest runs in one process inside a cgroup of its own (cgroup v1 cpuacct, so as root) and each test is
# charged what the cgroup spent while it ran. Prints the total and the costliest tests; the figures are in
# docs/testing.md ("Where the time goes"). Extra arguments go to pytest: scripts/test_cpu.sh -m browser
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
group=/sys/fs/cgroup/cpuacct/linli-test-cpu
if ! mkdir -p "$group" 2>/dev/null || [[ ! -w "$group/cgroup.procs" ]]; then
  echo "test_cpu: needs root and cgroup v1's cpuacct at /sys/fs/cgroup/cpuacct" >&2
  exit 1
fi
echo 0 > "$group/cpuacct.usage"
echo $$ > "$group/cgroup.procs"
report=$(mktemp --suffix=.json)
started=$SECONDS
status=0
LINLI_TEST_CPU_GROUP="$group" LINLI_TEST_CPU_REPORT="$report" PYTHONPATH=scripts \
  .venv/bin/pytest -n 0 -q -p test_cpu_plugin "$@" || status=$?
echo $$ > "$(dirname "$group")/cgroup.procs"
.venv/bin/python - "$report" "$group/cpuacct.usage" "$((SECONDS - started))" <<'PY'
import json, sys
from collections import Counter

rows = json.load(open(sys.argv[1]))
total = int(open(sys.argv[2]).read()) / 1e9
print(f"test_cpu: {total:.0f} CPU-seconds in {sys.argv[3]} s of wall time, {len(rows)} tests")
print(f"  on 2 cores no run of these tests can take less than {total / 2:.0f} s")
files = Counter()
for node, cpu in rows:
    files[node.split("::")[0]] += cpu
for name, cpu in files.most_common(15):
    print(f"  {cpu:7.1f} {name}")
PY
rm -f "$report"
exit "$status"
