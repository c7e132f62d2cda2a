#!/usr/bin/env bash
# Installs taky (a small open-source TAK server, PyPI `taky`) in a venv of its own, for the
# CoT integration test (tests/live/test_cot_tak.py). Its own venv because taky pins its
# dependencies independently of bastion's; nothing of it is imported by bastion.
# Idempotent: a venv whose `taky` already runs is left as it is.
#   usage: scripts/setup-taky.sh [VENV_DIR]     (default: .venv-taky at the repo root)
# Then the test finds it at VENV_DIR/bin/taky, or wherever BASTION_TAKY points.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/.venv-taky}"
python="${PYTHON:-python3}"
if [ -x "$venv/bin/taky" ] && "$venv/bin/python" -c "import taky" 2>/dev/null; then
  echo "taky already set up: $venv/bin/taky"
  exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "taky==0.10"
"$venv/bin/python" -c "import taky"
echo "taky set up: $venv/bin/taky"
