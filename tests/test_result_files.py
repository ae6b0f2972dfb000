"""Results files that are empty, cut off, from a newer schema or not JSON; CSV export."""

import csv
import json

import pytest
from _sample_runs import h100_run

from aimatrix.cli import main
from aimatrix.results import Result, read_jsonl, write_jsonl
from aimatrix.results.export import write_csv
from aimatrix.results.jsonl import drop_partial_last_line, load_results


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "good.jsonl"
    write_jsonl(p, h100_run(0))
    return p


def test_empty_file(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    lo = load_results(p)
    assert lo.results == [] and "empty.jsonl: the file is empty" in lo.problems[0]


def test_truncated_last_line_keeps_the_rest(good, tmp_path):
    text = good.read_text()
    p = tmp_path / "cut.jsonl"
    p.write_text(text + text.splitlines()[0][:150])  # a killed writer left half a record
    lo = load_results(p)
    n = len(text.splitlines())
    assert len(lo.results) == n
    assert lo.problems == [f"{p}:{n + 1}: the line is cut off (the run writing it was probably interrupted)"]
    assert drop_partial_last_line(p) == 150
    assert p.read_text() == text and load_results(p).problems == []


def test_newer_schema_and_garbage_lines_are_named(good, tmp_path):
    lines = good.read_text().splitlines()
    newer = json.loads(lines[1])
    newer["schema"] = "aimatrix.result/2"
    lines[1] = json.dumps(newer)
    lines[3] = "this is not json"
    lines[4] = '{"schema": "something.else/1", "op": "gemm"}'
    p = tmp_path / "mixed.jsonl"
    p.write_text("\n".join(lines) + "\n")
    lo = load_results(p)
    assert len(lo.results) == len(lines) - 3
    assert any(f"{p}:2: schema 'aimatrix.result/2' is newer than this aimatrix reads" in x for x in lo.problems)
    assert any(f"{p}:4: not JSON" in x for x in lo.problems)
    assert any(f"{p}:5: schema 'something.else/1' is not an aimatrix result schema" in x for x in lo.problems)
    with pytest.raises(ValueError, match=r"mixed.jsonl:2: not a valid aimatrix result: schema"):
        list(read_jsonl(p))  # the strict reader stops at the first bad line


def test_not_json_at_all(tmp_path):
    p = tmp_path / "table.csv"
    p.write_text("op,median_ms\ngemm,1.0\n")
    lo = load_results(p)
    assert not lo.ok and lo.problems[-1].endswith("no readable aimatrix result in the file")
    with pytest.raises(ValueError, match="cannot read results file"):
        load_results(tmp_path / "missing.jsonl")


def test_cli_uses_readable_lines_with_a_warning_and_refuses_unusable_files(good, tmp_path, capsys):
    cut = tmp_path / "cut.jsonl"
    cut.write_text(good.read_text() + '{"schema": "aimatrix.resu')
    assert main(["compare", str(good), str(cut)]) == 0
    err = capsys.readouterr().err
    assert f"{cut}:" in err and "cut off" in err and "readable lines are used" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert main(["compare", str(good), str(empty)]) == 2
    assert "empty.jsonl: the file is empty" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "r.html")]) == 2
    assert "cannot read results file" in capsys.readouterr().err


def test_csv_export(good, tmp_path, capsys):
    out = tmp_path / "run.csv"
    results = h100_run(0)
    assert write_csv(out, results) == len(results)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(results)
    assert {
        "op",
        "case",
        "params.m",
        "stats.median_ms",
        "metrics.tflops",
        "telemetry.sm_clock_mhz.median",
        "error.type",
        "env.gpu.name",
    } <= set(rows[0])
    assert rows[0]["env.gpu.name"] == "NVIDIA H100 80GB HBM3"
    assert rows[-1]["error.type"] == "UnsupportedError"
    assert main(["export", str(good), "-o", str(tmp_path / "cli.csv")]) == 0
    assert (tmp_path / "cli.csv").read_text().count("\n") == len(results) + 1


def test_result_round_trip_keeps_case_id():
    r = Result("gemm", {"m": 1}, "cpu", "fp32", "cpu", case='{"op":"gemm"}')
    assert Result.from_dict(r.to_dict()).case == '{"op":"gemm"}'
    assert "case" not in Result("gemm", {}, "cpu", "fp32", "cpu").to_dict()
