"""Files a build installs into the package from the repository's top level: third_party/ (and models/, which
is imported as aimatrix.models)."""

from __future__ import annotations

from pathlib import Path

import aimatrix


def installed(*parts: str) -> Path:
    """The path of an installed file, e.g. ``installed("third_party", "deepbench", "gemm_problems.csv")``."""
    for root in aimatrix.__path__:  # the installed package, or a checkout's aimatrix/ and the installed one
        path = Path(root, *parts)
        if path.exists():
            return path
    raise FileNotFoundError(
        f"aimatrix/{'/'.join(parts)} is not installed: install the package (pip install .), "
        "or in a checkout run tools/dev_links.sh"
    )
