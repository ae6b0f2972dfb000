"""The whole suite's table for bench/RESULTS.md, generated from the runs' result files.

    python bench/suite_scores.py REFERENCE.jsonl RUN.jsonl [RUN.jsonl ...]

One row per run: its wall time (from the records' ``case_wall_s``), cases passed, and its score against the
reference per tier and overall (``aimatrix.suite.score.scorecard``: the geometric mean of per-case speed ratios),
as a markdown table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aimatrix as am
from aimatrix.suite.case import TIERS
from aimatrix.suite.score import scorecard


def row(path: Path, reference: list) -> str:
    results = list(am.read_jsonl(path))
    card = scorecard(results, reference)
    tiers = {t["tier"]: t["score"] for t in card["tiers"]}
    wall = sum(r.metrics.get("case_wall_s") or 0.0 for r in results)
    run = (results[0].run or {}) if results else {}
    passed = sum(r.ok for r in results)
    scores = " / ".join(f"{tiers[t]:.2f}" if tiers.get(t) else "–" for t in TIERS)
    return (
        f"| `{path.name}` | {run.get('command', '?')} | {wall:.0f} s | {passed} of {len(results)} | {scores} | "
        f"**{card['overall']['score']:.3f}** |"
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    reference = list(am.read_jsonl(argv[0]))
    print(f"Scores against `{Path(argv[0]).name}`; tiers: {' / '.join(TIERS)}.\n")
    print("| result file | command | case time | passed | per tier | overall |")
    print("|---|---|---:|---:|---|---:|")
    for p in argv[1:]:
        print(row(Path(p), reference))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
