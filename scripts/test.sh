#!/usr/bin/env bash
# `make test` after install: lint, then every test in parallel (the tests start their own PostgreSQL and Valkey).
# Extra pytest arguments: scripts/test.sh -k name, or PYTEST_ARGS="-k name" make test. --lint-only: lint alone.
# --quick (`make quick`): ruff, then every test outside the browser, fuzz, race, chaos and slow tiers.
# LINLI_TEST_WORKERS: how many pytest-xdist workers (default: one per core; 0 runs in this process).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -x .venv/bin/pytest ]]; then
  echo "test: .venv is missing; run 'make install' (or 'make test', which installs first)" >&2
  exit 1
fi

lint() {
  local failed=0
  echo "== ruff check ."
  .venv/bin/ruff check . || failed=1
  echo "== ruff format --check ."
  .venv/bin/ruff format --check . || failed=1
  echo "== mypy api matching sql web workers"
  .venv/bin/mypy api matching sql web workers || failed=1
  return "$failed"
}

if [[ "${1:-}" == "--lint-only" ]]; then
  lint
  exit
fi

# Our own modules' bytecode too, once (see install.sh): a few seconds saved in every process the tests start.
.venv/bin/python -m compileall -q -j 0 api matching sql web workers tests >/dev/null
# pytest keeps its assertion-rewritten test modules beside their bytecode (tests/__pycache__/*-pytest-*.pyc, gitignored)
# only where Python may write bytecode; under PYTHONDONTWRITEBYTECODE every worker rewrote all ~220 of them at every
# run: collection took 10-13 s instead of 4-6 s.
unset PYTHONDONTWRITEBYTECODE

workers="${LINLI_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
parallel=(-n "$workers" --dist worksteal)
# The load average beside the time: a figure from a busy machine means little without it.
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }

if [[ "${1:-}" == "--quick" ]]; then
  shift
  echo "== ruff check ."
  .venv/bin/ruff check . || exit 1
  extra=()
  read -ra extra <<< "${PYTEST_ARGS:-}"
  echo "== pytest (quick: no browser, fuzz, race, chaos or slow tests; $workers workers; load $(load))"
  started=$SECONDS
  status=0
  .venv/bin/pytest "${parallel[@]}" -m "not (browser or fuzz or race or chaos or slow)" "${extra[@]}" "$@" || status=$?
  echo "quick: $((SECONDS - started)) s of pytest (load average now $(load))"
  exit "$status"
fi

# The tests run even when lint fails, so one run shows every problem; either failing fails the whole.
lint_status=0
lint || lint_status=$?
extra=()
read -ra extra <<< "${PYTEST_ARGS:-}"
echo "== pytest ${extra[*]} $* ($workers workers; load $(load))"
test_status=0
started=$SECONDS
.venv/bin/pytest "${parallel[@]}" "${extra[@]}" "$@" || test_status=$?
echo "test: $((SECONDS - started)) s of pytest (load average now $(load))"
if (( lint_status != 0 )); then
  echo "test: lint failed (see above)" >&2
fi
# pytest's exit code 5 ("no tests collected") is non-zero too, so an empty run fails CI as it should.
if (( test_status != 0 )); then
  exit "$test_status"
fi
exit "$lint_status"
