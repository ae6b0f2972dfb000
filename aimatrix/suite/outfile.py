"""Where a run's records go, checked before any work starts.

A results file is one run's record unless the user says otherwise: ``--out`` naming a
file that already holds another run's records is refused unless ``resume`` (go on
with that run) or ``append`` (add this run beside it) is given. A file that is not
aimatrix JSON Lines is never resumed or appended to, and a path that cannot be
written (a folder, a device such as /dev/full, a read-only place) is refused with
one line, so no measurement is lost at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..results.jsonl import check_resumable, drop_partial_last_line, load_results, run_ids


def check_writable(path: str | os.PathLike, what: str = "--out") -> Path:
    """ValueError (one line) when ``path`` cannot take a regular file's writes; the Path otherwise."""
    p = Path(path)
    if p.exists() and not p.is_file():
        kind = "a folder" if p.is_dir() else "not a regular file"
        raise ValueError(f"{what} {str(path)!r} is not allowed: it is {kind}; give the path of a file")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{what} {str(path)!r} is not allowed: its folder {str(parent)!r} does not exist")
    if not os.access(p if p.exists() else parent, os.W_OK):
        raise ValueError(
            f"{what} {str(path)!r} is not allowed: {'the file' if p.exists() else 'its folder'} is not writable"
        )
    return p


def prepare(path: str | os.PathLike, *, resume: bool = False, append: bool = False) -> list[str]:
    """Check ``path`` for a run's records before the run; the notes to show (empty when there is nothing to say).

    Refuses (ValueError): an unwritable path; a file that already holds records unless
    ``resume`` or ``append``; with either, a file holding lines that are not aimatrix records.
    """
    if resume and append:
        raise ValueError(
            "--resume and --append are not allowed together: --resume goes on with the run in the "
            "file, --append adds a new run beside it"
        )
    p = check_writable(path)
    if not p.exists() or p.stat().st_size == 0:
        return []
    if resume or append:
        try:
            check_resumable(p)
        except ValueError as e:
            raise ValueError(f"--out {str(path)!r}: {e}; give another --out") from None
        cut = drop_partial_last_line(p)
        return [f"dropped a cut-off last line ({cut} bytes) left in {p} by an interrupted run"] if cut else []
    loaded = load_results(p)
    runs = ", ".join(sorted(run_ids(p))) or "written without a run id"
    what = f"{len(loaded.results)} results of another run ({runs})" if loaded.results else "lines that are not results"
    raise ValueError(
        f"--out {str(path)!r} already holds {what}: give --resume to go on with that run, --append "
        "to add this run to the file, or another --out"
    )
