"""Results files from elsewhere: wrongly typed records are skipped with a warning naming the line, never a crash;
the HTML report escapes every string it takes from a record; --resume refuses files that are not aimatrix JSONL."""

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _sample_runs import h100_run

from aimatrix.results import Result, write_jsonl
from aimatrix.results.compare import compare
from aimatrix.results.export import write_csv
from aimatrix.results.jsonl import check_resumable, drop_partial_last_line, load_results, run_ids
from aimatrix.results.report import build_report, find_chromium, render_in_browser, write_report


def _set(record: dict, path: str, value) -> dict:
    """A copy of ``record`` with the dotted field ``path`` set to ``value``."""
    out = json.loads(json.dumps(record))
    *parents, last = path.split(".")
    obj = out
    for p in parents:
        obj = obj[p]
    obj[last] = value
    return out


GOOD = h100_run(0)[0].to_dict()  # a GEMM with stats, metrics, verify, telemetry and env
FAILED = h100_run(0)[-1].to_dict()
NESTED = 500  # parses (below the decoder's recursion limit) but nests far deeper than any record

# (what is wrong, the line, a text the warning must hold)
BAD_LINES = [
    ("op a number", json.dumps(_set(GOOD, "op", 42)), "field 'op' must be a string, not 42"),
    ("op not a name", json.dumps(_set(GOOD, "op", "gemm <b>")), "field 'op' is 'gemm <b>': not an op name"),
    ("device null", json.dumps(_set(GOOD, "device", None)), "field 'device' must be a string, not None"),
    ("backend a list", json.dumps(_set(GOOD, "backend", ["cublas"])), "field 'backend' must be a string"),
    ("params a string", json.dumps(_set(GOOD, "params", "m=1")), "field 'params' must be an object"),
    ("stats a string", json.dumps(_set(GOOD, "stats", "fast")), "field 'stats' must be an object"),
    ("median a string", json.dumps(_set(GOOD, "stats.median_ms", "1.5")), "field 'stats.median_ms' must be"),
    ("median 1e308", json.dumps(_set(GOOD, "stats.median_ms", 1e308)), "field 'stats.median_ms' must be"),
    ("median negative", json.dumps(_set(GOOD, "stats.median_ms", -2.0)), "field 'stats.median_ms' must be"),
    ("median zero", json.dumps(_set(GOOD, "stats.median_ms", 0)), "field 'stats.median_ms' must be"),
    ("median NaN", json.dumps(_set(GOOD, "stats.median_ms", float("nan"))), "field 'stats.median_ms' must be"),
    (
        "median 1e400",
        json.dumps(_set(GOOD, "stats.median_ms", 1.5)).replace('"median_ms": 1.5', '"median_ms": 1e400'),
        "field 'stats.median_ms' must be a finite number",
    ),
    ("rel_ci true", json.dumps(_set(GOOD, "stats.rel_ci", True)), "field 'stats.rel_ci' must be"),
    ("tflops a string", json.dumps(_set(GOOD, "metrics.tflops", "fast")), "field 'metrics.tflops' must be"),
    ("bytes tiny", json.dumps(_set(GOOD, "metrics.bytes", 1e-300)), "field 'metrics.bytes' must be"),
    ("flops huge int", json.dumps(_set(GOOD, "metrics.flops", 10**400)), "field 'metrics.flops' must be"),
    (
        "sm clock a number",
        json.dumps(_set(GOOD, "telemetry", {"sm_clock_mhz": 5})),
        "field 'telemetry.sm_clock_mhz' must be an object of numbers",
    ),
    (
        "reasons a string",
        json.dumps(_set(GOOD, "telemetry.throttle_reasons", "hot")),
        "field 'telemetry.throttle_reasons' must be a list of strings",
    ),
    (
        "unavailable a number",
        json.dumps(_set(GOOD, "telemetry", {"unavailable": 5})),
        "field 'telemetry.unavailable' must be a string",
    ),
    ("passed a string", json.dumps(_set(GOOD, "verify.passed", "yes")), "field 'verify.passed' must be true or false"),
    ("env a list", json.dumps(_set(GOOD, "env", [1])), "field 'env' must be an object"),
    ("gpu a string", json.dumps(_set(GOOD, "env.gpu", "H100")), "field 'env.gpu' must be an object"),
    (
        "gpu memory a string",
        json.dumps(_set(GOOD, "env.gpu.total_mem_bytes", "80 GB")),
        "field 'env.gpu.total_mem_bytes' must be",
    ),
    ("gpu name a list", json.dumps(_set(GOOD, "env.gpu.name", ["H100"])), "field 'env.gpu.name' must be a string"),
    ("revision a number", json.dumps(_set(GOOD, "env.git_revision", 7)), "field 'env.git_revision' must be a string"),
    ("frameworks a list", json.dumps(_set(GOOD, "env.frameworks", ["torch"])), "field 'env.frameworks' must be an"),
    ("error a string", json.dumps(_set(FAILED, "error", "boom")), "field 'error' must be an object"),
    ("error type a number", json.dumps(_set(FAILED, "error.type", 3)), "field 'error.type' must be a string"),
    ("error without message", json.dumps(_set(FAILED, "error", {"type": "X"})), "field 'error.message' must be"),
    ("case a number", json.dumps(_set(GOOD, "case", 5)), "field 'case' must be a string"),
    ("batch a string", json.dumps(_set(GOOD, "params.batch", "8")), "field 'params.batch' must be a finite number"),
    ("run a string", json.dumps(_set(GOOD, "run", "r1")), "field 'run' must be an object"),
    ("run id a number", json.dumps(_set(GOOD, "run", {"run_id": 1})), "field 'run.run_id' must be a string"),
    ("lone surrogate", json.dumps(GOOD).replace('"cublaslt"', '"cub\\ud800"'), "lone surrogate"),
    ("100k brackets", "[" * 100_000 + "]" * 100_000, "nested too deeply to read"),
    (
        "nested params",
        json.dumps(_set(GOOD, "params.model_kw", json.loads("[" * NESTED + "]" * NESTED))),
        "nested deeper than 32 levels (in field 'params')",
    ),
    ("a JSON array", "[1, 2]", "expected a JSON object, got list"),
]


def _mixed_file(tmp_path: Path, name: str = "mixed.jsonl") -> tuple[Path, list[Result], dict[int, str]]:
    """Good records with every bad line between them: (path, the good Results, {line number: expected text})."""
    good = h100_run(0)
    lines, expected = [], {}
    for i, r in enumerate(good):
        lines.append(r.to_json())
        if i < len(BAD_LINES):
            lines.append(BAD_LINES[i][1])
            expected[len(lines)] = BAD_LINES[i][2]
    assert len(expected) == len(BAD_LINES)  # every bad line is in the file
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p, good, expected


@pytest.mark.parametrize("what,line,why", BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_each_bad_record_is_skipped_with_its_line_and_field(tmp_path, what, line, why):
    p = tmp_path / "one.jsonl"
    ok = Result("gemm", {"m": 1}, "cpu", "fp32", "cpu", stats={"median_ms": 1.0})
    p.write_text(ok.to_json() + "\n" + line + "\n")
    lo = load_results(p)
    assert len(lo.results) == 1
    assert len(lo.problems) == 1 and lo.problems[0].startswith(f"{p}:2: ") and why in lo.problems[0], lo.problems


def test_public_functions_work_on_what_passed(tmp_path):
    p, good, expected = _mixed_file(tmp_path)
    lo = load_results(p)
    assert [r.to_dict() for r in lo.results] == [r.to_dict() for r in good]
    assert [int(x.split(":")[1]) for x in lo.problems] == sorted(expected)
    cmp = compare(h100_run(1), lo.results)
    assert len(cmp.matched) == len(good) and cmp.regressions == []
    report = write_report(tmp_path / "r.html", [("base", h100_run(1)), (str(p), lo.results)], problems=lo.problems)
    assert len(report.charts) == 11
    assert write_csv(tmp_path / "r.csv", lo.results) == len(good)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}  # the aimatrix this interpreter imports, installed or on PYTHONPATH
    return subprocess.run(
        [sys.executable, "-m", "aimatrix.bench", *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


def test_cli_compare_report_export_skip_bad_lines_with_warnings(tmp_path):
    p, good, expected = _mixed_file(tmp_path)
    base = tmp_path / "base.jsonl"
    write_jsonl(base, h100_run(1))
    runs = {
        "compare": _cli("compare", str(base), str(p), cwd=tmp_path),
        "report": _cli("report", str(p), str(base), "-o", str(tmp_path / "r.html"), cwd=tmp_path),
        "export": _cli("export", str(p), "-o", str(tmp_path / "r.csv"), cwd=tmp_path),
    }
    for name, proc in runs.items():
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (name, proc.stderr[-3000:])
        flat = " ".join(proc.stderr.split())  # the console may wrap long warnings
        for lineno in expected:
            assert f"{p}:{lineno}:" in flat, (name, lineno, flat[-3000:])
    assert "No significant regression" in runs["compare"].stdout
    page = (tmp_path / "r.html").read_text()
    assert "Input warnings" in page and f"{p}:{min(expected)}:" in page
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == len(good)


def test_cli_on_a_file_with_only_bad_lines_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(line for _, line, _ in BAD_LINES) + "\n")
    for args in (("compare", str(p), str(p)), ("report", str(p), "-o", "r.html"), ("export", str(p), "-o", "r.csv")):
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert "no readable aimatrix result in the file" in " ".join(proc.stderr.split())


# -- escaping ---------------------------------------------------------------------------------
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
MARK = SCRIPT + IMG


def _taint(x, keep=("schema", "op")):
    """Markup appended to every string value, at every depth (op and schema stay valid)."""
    if isinstance(x, dict):
        return {k: (v if k in keep else _taint(v, ())) for k, v in x.items()}
    if isinstance(x, list):
        return [_taint(v, ()) for v in x]
    return x + MARK if isinstance(x, str) else x


def _tainted_run() -> list[dict]:
    run = {
        "run_id": "r1",
        "started_utc": "2026-12-06T10:00:00Z",
        "command": "aimatrix micro",
        "aimatrix": "0.2.0",
        "git_revision": "abc",
        "host": "node",
    }
    out = []
    for r in h100_run(0):
        d = r.to_dict()
        d["run"] = run
        d["params"][MARK] = MARK  # a key with markup too
        d["env"]["frameworks"][MARK] = MARK
        d["metrics"]["unit"] = "img"
        if d["op"] == "synth":  # its group table's columns are the groups' keys
            d["params"]["groups"][0][MARK] = MARK
        out.append(_taint(d))
    unavailable = _set(GOOD, "telemetry", {"unavailable": MARK})
    unavailable["params"]["m"] = 333
    out.append(_taint(unavailable) | {"telemetry": {"unavailable": MARK}})
    return out


def _tainted_page(tmp_path):
    records = _tainted_run()
    p = tmp_path / "tainted.jsonl"
    bad = json.dumps(_set(GOOD, "op", MARK))  # its warning quotes the markup
    p.write_text("\n".join(json.dumps(d) for d in records) + "\n" + bad + "\n")
    lo = load_results(p)
    assert len(lo.results) == len(records) and len(lo.problems) == 1
    assert sum(MARK in str(r.to_dict()) for r in lo.results) == len(records)  # the markup survived loading
    other = [r.with_(backend=r.backend + "x") for r in lo.results]  # a second run with markup: the comparison too
    reference = {k: MARK for k in ("name", "device", "date", "driver", "command")} | {"versions": {MARK: MARK}}
    scorecard = {
        "reference": reference,
        "tiers": [{"tier": MARK, "score": 1.5, "cases": 2, "scored": 1, "no_reference": [MARK]}],
        "overall": {"score": 1.5, "cases": 2, "scored": 1, "no_reference": [MARK]},
    }
    return build_report(
        [(str(p) + MARK, lo.results), (MARK, lo.results), ("other", other)],
        title=MARK,
        problems=lo.problems,
        scorecard=scorecard,
    )


def test_report_escapes_every_string_from_the_records(tmp_path):
    page, charts = _tainted_page(tmp_path)
    assert charts  # the charts were drawn: their titles, legends and tooltips are in the page
    for raw in (SCRIPT, IMG, "<img", "<script>alert", "x onerror=alert(1)>"):
        assert raw not in page, (raw, page[max(0, page.find(raw) - 300) : page.find(raw) + 100])
    assert page.count("<script") == 1  # the report's own chart check, nothing else
    assert html.escape(MARK, quote=True) in page
    for text in ("unavailable: " + html.escape(MARK), "aimatrix micro" + html.escape(MARK)):
        assert text in page, text


@pytest.mark.skipif(find_chromium() is None, reason="no headless Chromium (apt-get install -y chromium)")
def test_tainted_report_in_a_browser_makes_no_element_from_record_text(tmp_path):
    page, _ = _tainted_page(tmp_path)
    out = tmp_path / "tainted.html"
    out.write_text(page, encoding="utf-8")
    dom, console = render_in_browser(out)
    assert console == []  # no error
    tags = re.sub(r'="[^"]*"', '=""', dom)  # the serialised DOM keeps "<" raw inside attribute values: leave them out
    assert "<img" not in tags and tags.count("<script") == 1 and "data-charts-rendered" in dom


# -- resume and run ids ---------------------------------------------------------------------------
def test_check_resumable_refuses_files_that_are_not_aimatrix_jsonl(tmp_path):
    check_resumable(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    check_resumable(empty)
    good = tmp_path / "good.jsonl"
    write_jsonl(good, h100_run(0))
    check_resumable(good)
    cut = tmp_path / "cut.jsonl"
    cut.write_text(good.read_text() + '{"schema": "aimatrix.result/1", "op": "ge')  # a killed run: resumable
    check_resumable(cut)
    table = tmp_path / "table.csv"
    table.write_text("op,median_ms\ngemm,1.0\n")
    with pytest.raises(
        ValueError,
        match=r"table.csv is not an aimatrix results file \(line 1: not JSON .*\); "
        r"refusing to resume into it",
    ):
        check_resumable(table)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(good.read_text() + "notes: the H100 was hot\n" + good.read_text())
    with pytest.raises(ValueError, match=rf"line {len(h100_run(0)) + 1}: not JSON"):
        check_resumable(mixed)
    typed = tmp_path / "typed.jsonl"
    typed.write_text(good.read_text() + json.dumps(_set(GOOD, "device", None)) + "\n")
    with pytest.raises(ValueError, match=r"field 'device' must be a string"):
        check_resumable(typed)


def _with_run(results, run_id):
    run = {
        "run_id": run_id,
        "started_utc": "2026-12-06T10:00:00Z",
        "command": ["aimatrix", "micro", "--out", "x"],
        "aimatrix": "0.2.0",
        "git_revision": None,
        "host": "node-1",
    }
    return [r.with_(run=run) for r in results]


def test_run_ids_and_csv_and_compare_with_the_run_field(tmp_path):
    p = tmp_path / "two.jsonl"
    assert run_ids(p) == set()
    write_jsonl(p, h100_run(0))
    assert run_ids(p) == set()  # records made outside a suite have no run
    write_jsonl(p, _with_run(h100_run(0), "run-a") + _with_run(h100_run(1), "run-b"))
    assert run_ids(p) == {"run-a", "run-b"}
    assert write_csv(tmp_path / "r.csv", load_results(p).results) == 2 * len(h100_run(0))
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert {r["run.run_id"] for r in rows} == {"run-a", "run-b"}
    assert rows[0]["run.command"] == "aimatrix;micro;--out;x" and rows[0]["run.git_revision"] == ""
    cmp = compare(_with_run(h100_run(0), "run-a"), load_results(p).results)
    assert len(cmp.matched) == len(h100_run(0)) and cmp.regressions == []


def test_cli_compare_prints_record_text_literally(tmp_path):
    base, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(base, h100_run(0))
    write_jsonl(
        other, [r.with_(env={**r.env, "gpu": {**r.env["gpu"], "name": "[/bold] GPU [red]x"}}) for r in h100_run(1)]
    )
    proc = _cli("compare", str(base), str(other), cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "[/bold] GPU [red]x" in proc.stdout


def test_drop_partial_last_line_cuts_only_a_cut_off_record(tmp_path):
    good = tmp_path / "good.jsonl"
    write_jsonl(good, h100_run(0)[:3])
    text = good.read_text()
    p = tmp_path / "notes.jsonl"
    p.write_text(text + "the H100 was hot")  # someone's note, not a record: kept, and resuming is refused
    assert drop_partial_last_line(p) == 0 and p.read_text() == text + "the H100 was hot\n"
    with pytest.raises(ValueError, match="line 4: not JSON"):
        check_resumable(p)
    typed = json.dumps(_set(GOOD, "device", None))
    p.write_text(text + typed)  # a whole record of the wrong types: kept and named, not silently cut
    assert drop_partial_last_line(p) == 0 and p.read_text() == text + typed + "\n"
    assert load_results(p).problems == [f"{p}:4: field 'device' must be a string, not None"]
    p.write_text(text + typed[:100])  # what a killed writer leaves
    assert drop_partial_last_line(p) == 100 and p.read_text() == text


HOSTILE = [None, True, 0, -1, 0.5, 1e-300, 1e300, 10**30, "", "x", "[/b]", [], ["a", 1], {}, {"median": "x"}]


def _paths(x, pre=()):
    """Every field of a record, nested ones too, as key paths."""
    if pre:
        yield pre
    items = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, list) else ()
    for k, v in items:
        yield from _paths(v, pre + (k,))


def test_every_field_set_to_every_hostile_value_never_breaks_the_readers(tmp_path):
    """Each line: one record of each kind with one field replaced; whatever loads must compare, report, export."""
    run = h100_run(0)
    kinds = {r.op if r.ok else "failed": r.to_dict() for r in run}  # gemm, membw, model, synth, failed
    lines = []
    for record in kinds.values():
        for path in _paths(record):
            if path[0] == "schema":
                continue
            for value in HOSTILE:
                d = json.loads(json.dumps(record))
                obj = d
                for k in path[:-1]:
                    obj = obj[k]
                obj[path[-1]] = value
                lines.append(json.dumps(d))
    p = tmp_path / "hostile.jsonl"
    p.write_text("\n".join(lines) + "\n")
    lo = load_results(p)
    assert 0 < len(lo.results) < len(lines) and len(lo.results) + len(lo.problems) == len(lines)
    cmp = compare(h100_run(1), lo.results)
    assert cmp.matched
    compare(lo.results, h100_run(1))
    page, charts = build_report([("hostile", lo.results), ("base", h100_run(1))], problems=lo.problems)
    assert charts and "[/b]" in page
    assert write_csv(tmp_path / "h.csv", lo.results) == len(lo.results)
    assert all(repr(r) for r in lo.results)
