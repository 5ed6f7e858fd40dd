#!/usr/bin/env bash
# `make install`: the uv-locked environment in .venv; with --browser also the system Chromium the browser tests drive
# and the nginx that tests/test_deploy.py checks deploy/ with.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# uv ignores the machine's pip configuration; these make it use the system certificates and never download a Python.
export UV_NATIVE_TLS=1 UV_PYTHON_DOWNLOADS=never

browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    *) echo "usage: scripts/install.sh [--browser]" >&2; exit 2 ;;
  esac
done

is_root() { [[ "$(id -u)" -eq 0 ]]; }

usable_python() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# PYTHON if set, else the first Python 3.11+ on PATH, else Debian's. pyenv's Python lives under /root, which
# other users cannot enter: its shims are on their PATH but fail, hence the check that each one really runs.
pick_python() {
  if [[ -n "${PYTHON:-}" ]]; then
    if usable_python "$PYTHON"; then echo "$PYTHON"; return 0; fi
    echo "PYTHON=$PYTHON is not a working Python 3.11 or newer" >&2
    return 1
  fi
  local name path
  for name in python3.11 python3 python3.12 python3.13 python3.14; do
    path="$(command -v "$name" 2>/dev/null)" || continue
    if usable_python "$path"; then echo "$path"; return 0; fi
  done
  if usable_python /usr/bin/python3; then echo /usr/bin/python3; return 0; fi
  echo "No Python 3.11 or newer found: install python3.11 or set PYTHON=/path/to/python3.11" >&2
  return 1
}

find_uv() {
  if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then
    uv_cmd=(uv)
  elif "$py" -m uv --version >/dev/null 2>&1; then
    uv_cmd=("$py" -m uv)
  else
    return 1
  fi
}

install_uv() {
  local args=(install --quiet uv)
  is_root || args+=(--user)
  # Debian marks its Python "externally managed"; uv is a self-contained tool, so installing it there is safe.
  if "$py" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    args+=(--break-system-packages)
  fi
  echo "install: uv not found; installing it with: $py -m pip ${args[*]}"
  "$py" -m pip "${args[@]}"
}

py="$(pick_python)"
uv_cmd=()
if ! find_uv; then
  install_uv
  find_uv || { echo "install: uv was installed but neither 'uv' nor '$py -m uv' runs" >&2; exit 1; }
fi

# Keep a working .venv (fast, idempotent); rebuild one whose interpreter is gone or unusable for this user,
# e.g. a copy of root's venv that points into /root. Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE
# is set, every process (each test worker, each server the tests start) would otherwise compile every import again.
if usable_python .venv/bin/python; then
  "${uv_cmd[@]}" sync --frozen --quiet --compile-bytecode
else
  "${uv_cmd[@]}" sync --frozen --quiet --compile-bytecode --python "$py"
fi

if (( browser )); then
  missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  # Without a CJK font Chromium draws the Chinese pages as boxes.
  [[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]] || missing+=(fonts-wqy-zenhei)
  # deploy/'s nginx config is checked by `nginx -t` and serves the two-host test (tests/test_deploy.py).
  [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the test's throw-away certificate
  if (( ${#missing[@]} )); then
    if is_root && command -v apt-get >/dev/null 2>&1; then
      echo "install: installing ${missing[*]} with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "install: the browser and deploy tests need chromium, fonts-wqy-zenhei, nginx and openssl from Debian" \
        "(missing: ${missing[*]}); ask an administrator to run: apt-get install ${missing[*]}." \
        "Those tests will fail until then." >&2
    fi
  fi
fi
