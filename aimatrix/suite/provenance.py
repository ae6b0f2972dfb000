"""The provenance every record of a run carries (``Result.run``)."""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
import uuid
from typing import Sequence


def new_run(argv: Sequence[str] | None = None, *, prog: str = "python -m aimatrix.bench") -> dict:
    """A fresh run's provenance: id, UTC start, the command line, aimatrix's version and revision, the host.

    ``argv`` is the command line's arguments (default ``sys.argv[1:]``); the command is
    recorded as a person would type it again.
    """
    from ..system.env import host_environment

    env = host_environment()
    args = list(sys.argv[1:] if argv is None else argv)
    started = _dt.datetime.now(_dt.timezone.utc)
    return {
        "run_id": f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        "started_utc": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "command": " ".join([prog, *map(shlex.quote, args)]),
        "aimatrix": env["aimatrix"],
        "git_revision": env.get("git_revision"),
        "host": env["host"],
    }
