"""Reading the synthesis' JSON files (saved syntheses, conv-time tables) with one clear error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_json(path: str | os.PathLike) -> tuple[Path, Any]:
    """(the path, its parsed JSON); ValueError naming the file and line when it is not JSON."""
    p = Path(path)
    try:
        return p, json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: line {e.lineno}: not valid JSON ({e.msg})") from None
