#!/usr/bin/env bash
# `make test` after install: lint, then pytest (the tests start their own PostgreSQL and Valkey).
# Extra pytest arguments: scripts/test.sh -k name, or PYTEST_ARGS="-k name" make test. --lint-only: lint alone.
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

# The tests run even when lint fails, so one run shows every problem; either failing fails the whole.
lint_status=0
lint || lint_status=$?
extra=()
read -ra extra <<< "${PYTEST_ARGS:-}"
echo "== pytest ${extra[*]} $*"
test_status=0
.venv/bin/pytest "${extra[@]}" "$@" || test_status=$?
if (( lint_status != 0 )); then
  echo "test: lint failed (see above)" >&2
fi
# pytest's exit code 5 ("no tests collected") is non-zero too, so an empty run fails CI as it should.
if (( test_status != 0 )); then
  exit "$test_status"
fi
exit "$lint_status"
