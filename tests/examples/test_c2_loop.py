"""examples/c2_loop.py: the C2 stages run on a synthetic feed without the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "c2_loop.py"


def test_c2_loop_engages_without_importing_the_simulator():
    code = (f"import runpy, sys, json; ns = runpy.run_path({str(SCRIPT)!r}); "
            "kinds = [r['kind'] for r in ns['main']().table().to_pylist()]; "
            "print(json.dumps({'kinds': kinds, 'sim': sorted(m for m in sys.modules "
            "if m.startswith('bastion.sim'))}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["sim"] == []
    kinds = got["kinds"]
    # proposals are approved by the automatic operator, fired and assessed
    for k in ("proposed", "approved", "fired", "assessed"):
        assert k in kinds, k
    assert kinds.index("proposed") < kinds.index("approved") < kinds.index("fired")
