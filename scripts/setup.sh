#!/usr/bin/env bash
# Set-up on a fresh machine, idempotent: the Python virtual environment with bastion.
# With --test (or --live), also what the live mode and its tests need: the web UI built by
# npm into src/bastion/live/web_dist, Debian's Chromium for the browser test, and a TAK
# server (taky) in a virtual environment of its own for the Cursor-on-Target test.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'
case "${1:-}" in
  --test|--live) ;;
  "") exit 0 ;;
  *) echo "usage: scripts/setup.sh [--test|--live]" >&2; exit 2 ;;
esac
if [ -f web/package.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi
if ! command -v chromium >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
if [ -f scripts/setup-taky.sh ]; then
  bash scripts/setup-taky.sh
fi
