"""A suite's score card, drawn for the terminal (``format_scorecard``) and the HTML report (``scorecard_html``).

A score card (computed by the suite, not here) is a dict::

    {"reference": {"name": "H100 SXM (aimatrix 0.2.0, 2026-12-06)", "device": ..., "date": ..., "driver": ...,
                   "versions": {...}, "command": ...},
     "tiers": [{"tier": "micro", "score": 1.01, "cases": 20, "scored": 18, "no_reference": ["gemm ...", ...]}, ...],
     "overall": {"score": 1.00, "cases": 60, "scored": 55, "no_reference": [...]}}

``score`` is the geometric mean of the per-case speed ratios (this device / the
reference; > 1 is faster), or None when no case could be scored. Both renderers
take what is there: a missing key or a value of the wrong type shows as "n/a",
never an error. The card may come from a file, so every string is escaped (HTML)
or stripped of control characters (terminal).
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

from .svg import esc

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # terminal escapes in a shared file must not reach the terminal
SHOWN_MISSING = 10  # cases without a reference listed in the terminal; the rest are counted


def _obj(x: Any) -> Mapping:
    return x if isinstance(x, Mapping) else {}


def _list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else []


def _count(x: Any) -> str:
    return str(x) if isinstance(x, int) and not isinstance(x, bool) else "?"


def _score(x: Any) -> float | None:
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
    return float(x) if ok else None


def score_text(score: Any) -> str:
    """``1.01``, or ``n/a`` when there is no score."""
    s = _score(score)
    return "n/a" if s is None else f"{s:.2f}"


def speed_words(score: Any) -> str:
    """``3.0% faster than the reference`` / ``2.5% slower ...`` / ``as fast as ...`` / ``no case scored``."""
    s = _score(score)
    if s is None:
        return "no case scored"
    if round(s, 3) == 1:
        return "as fast as the reference"
    return f"{abs(s - 1):.1%} {'faster' if s > 1 else 'slower'} than the reference"


def _plain(x: Any) -> str:
    return _CONTROL.sub("\ufffd", str(x))


def _provenance(ref: Mapping) -> list[tuple[str, str]]:
    """(label, text) of the reference's facts that are present."""
    out = [(k, str(ref[k])) for k in ("device", "date", "driver") if ref.get(k) not in (None, "")]
    versions = _obj(ref.get("versions"))
    if versions:
        out.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v not in (None, ""))))
    if ref.get("command") not in (None, ""):
        cmd = ref["command"]
        out.append(("command", " ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd)))
    return out


def _rows(card: Mapping) -> list[tuple[str, Mapping]]:
    rows = [(str(_obj(t).get("tier", "?")), _obj(t)) for t in _list(card.get("tiers"))]
    return rows + [("overall", _obj(card.get("overall")))]


def format_scorecard(card: Mapping[str, Any]) -> str:
    """The score card as plain text lines for the terminal (print it without markup interpretation)."""
    card = _obj(card)
    ref = _obj(card.get("reference"))
    overall = _obj(card.get("overall"))
    lines = [
        f"Score against {_plain(ref.get('name') or 'the reference')}: {score_text(overall.get('score'))} "
        f"({speed_words(overall.get('score'))})"
    ]
    lines += [f"  reference {label}: {_plain(text)}" for label, text in _provenance(ref)]
    rows = _rows(card)
    width = max(len(_plain(name)) for name, _ in rows)
    for name, row in rows:
        lines.append(
            f"  {_plain(name):<{width}}  {score_text(row.get('score')):>5}  "
            f"({_count(row.get('scored'))} of {_count(row.get('cases'))} cases scored)"
        )
    missing = [_plain(c) for c in _list(overall.get("no_reference"))]
    if missing:
        more = f", and {len(missing) - SHOWN_MISSING} more" if len(missing) > SHOWN_MISSING else ""
        lines.append(f"  without a reference ({len(missing)}): {', '.join(missing[:SHOWN_MISSING])}{more}")
    return "\n".join(lines)


CSS = """
.scorecard{border:2px solid #1f77b4;border-radius:8px;padding:10px 18px;margin:12px 0 20px;background:#f7fbff}
.scorecard .big{font-size:44px;font-weight:700;line-height:1.1} .scorecard .big small{font-size:16px;font-weight:400}
.scorecard table{margin:6px 0} .scorecard td.score{font-weight:600} .scorecard tr.overall td{font-weight:700;
 border-top:2px solid #bbb}
"""


def _missing_html(cases: Sequence[Any], what: str) -> str:
    if not cases:
        return ""
    items = "".join(f"<li>{esc(c)}</li>" for c in cases)
    return f"<details><summary>{esc(what)} ({len(cases)})</summary><ul>{items}</ul></details>"


def scorecard_html(card: Mapping[str, Any]) -> str:
    """The score card as an HTML section: the overall score large, a row per tier, the reference's provenance."""
    card = _obj(card)
    ref = _obj(card.get("reference"))
    overall = _obj(card.get("overall"))
    score = esc(score_text(overall.get("score")))
    head = (
        f"<div class='big' data-score='{score}'>{score} <small>{esc(speed_words(overall.get('score')))}</small>"
        f"</div><p>Score against <b>{esc(ref.get('name') or 'the reference')}</b>: the geometric mean over the "
        "scored cases of this device's speed over the reference's (&gt; 1: faster).</p>"
    )
    rows = _rows(card)
    body = "".join(
        f"<tr{' class=overall' if i == len(rows) - 1 else ''}><td>{esc(name)}</td>"
        f"<td class='num score'>{esc(score_text(row.get('score')))}</td>"
        f"<td class='num'>{esc(_count(row.get('cases')))}</td>"
        f"<td class='num'>{esc(_count(row.get('scored')))}</td>"
        f"<td class='num'>{len(_list(row.get('no_reference')))}</td></tr>"
        for i, (name, row) in enumerate(rows)
    )
    table = (
        "<table><thead><tr><th>tier</th><th>score</th><th>cases</th><th>scored</th><th>without reference</th>"
        f"</tr></thead><tbody>{body}</tbody></table>"
    )
    missing = _missing_html(_list(overall.get("no_reference")), "Cases without a reference in the reference run")
    prov = "; ".join(f"{esc(label)}: {esc(text)}" for label, text in _provenance(ref))
    prov_html = f"<p class='muted'>Reference: {prov}</p>" if prov else ""
    return f"<section class='scorecard' id='scorecard'>{head}{table}{missing}{prov_html}</section>"
