"""Numba's kernel cache is keyed by the sources that kernels inline across modules."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import bastion


def _dir_for(base: Path) -> str:
    env = {**os.environ, "BASTION_NUMBA_CACHE_BASE": str(base)}
    out = subprocess.run([sys.executable, "-c", "import os, bastion; "
                          "print(os.environ['NUMBA_CACHE_DIR'])"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_cache_directory_is_named_after_the_inlined_sources(tmp_path):
    root = Path(bastion.__file__).parent
    h = hashlib.sha256()
    for rel in bastion._INLINED_ACROSS_MODULES:
        h.update((root / rel).read_bytes())
    assert _dir_for(tmp_path) == str(tmp_path / h.hexdigest()[:16])
    assert (tmp_path / h.hexdigest()[:16]).is_dir()


def test_an_edit_to_an_inlined_source_changes_the_directory(tmp_path, monkeypatch):
    # the key covers every listed file: dropping one (as an edit would change its bytes)
    # gives another directory
    import numba

    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)  # restored after
    monkeypatch.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR", ""))
    monkeypatch.setenv("BASTION_NUMBA_CACHE_BASE", str(tmp_path))
    bastion._kernel_cache_dir()
    full = os.environ["NUMBA_CACHE_DIR"]
    monkeypatch.setattr(bastion, "_INLINED_ACROSS_MODULES", bastion._INLINED_ACROSS_MODULES[:-1])
    bastion._kernel_cache_dir()
    assert os.environ["NUMBA_CACHE_DIR"] != full
    assert os.path.dirname(os.environ["NUMBA_CACHE_DIR"]) == str(tmp_path)
