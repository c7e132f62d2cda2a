"""Output folders that never lose or mix a user's results.

A report is written into a hidden staging folder beside ``--out`` and swapped in only when
every file is complete, so a run that fails or is interrupted while writing leaves ``--out``
exactly as it was. Results already in ``--out`` are moved to a numbered backup (``out.1``,
``out.2``, …) rather than overwritten file by file, which could leave a new ``summary.json``
beside an old ``report.html``. A non-empty folder that holds no bastion results is refused:
``--out ~`` must not move someone's home folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MARKER", "OutputError", "Staged", "check_output_dir", "staged_output"]

MARKER = "summary.json"  # a folder holding it is a bastion result folder


class OutputError(ValueError):
    """An output folder that cannot be written; the message names it and says why."""


@dataclass
class Staged:
    """A staging folder being filled, and (after commit) where the old results went."""

    stage: Path
    out: Path
    backup: Path | None = None


def _existing_ancestor(p: Path) -> Path:
    p = p.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_dir(out: str | Path) -> None:
    """Fail fast — before any simulation — if ``out`` cannot receive results."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is a file, not a folder")
    if out.is_dir():
        try:
            entries = list(out.iterdir())
        except OSError as exc:
            raise OutputError(f"--out {out}: cannot read the folder: {exc.strerror}") from None
        if entries and not (out / MARKER).is_file():
            raise OutputError(f"--out {out}: a non-empty folder with no bastion results in it; "
                              "choose a new or empty folder")
    anc = _existing_ancestor(out.parent)
    if not anc.is_dir():
        raise OutputError(f"--out {out}: {anc} is a file, so no folder can be made under it")
    # Permission bits do not tell the whole story (read-only mounts, root): try it.
    try:
        probe = Path(tempfile.mkdtemp(prefix=".bastion-probe-", dir=anc))
        probe.rmdir()
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write in {anc}: {exc.strerror}") from None


def _backup_name(out: Path) -> Path:
    k = 1
    while True:
        cand = out.with_name(f"{out.name}.{k}")
        if not cand.exists():
            return cand
        k += 1


@contextmanager
def staged_output(out: str | Path) -> Iterator[Staged]:
    """Yield a staging folder beside ``out``; on success swap it in, else remove it.

    After the ``with`` block, ``Staged.backup`` says where earlier results were moved.
    """
    out = Path(out)
    check_output_dir(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create it: {exc.strerror}") from None
    st = Staged(stage, out)
    try:
        yield st
        st.stage.chmod(0o755)  # mkdtemp makes it private; a result folder is not
        if out.is_dir():
            if any(out.iterdir()):
                st.backup = _backup_name(out)
                os.replace(out, st.backup)
            else:
                out.rmdir()
        os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
