"""The HTML report: self-contained, every section, renders in a real headless Chromium; PNG export; bad paths."""

import re
import struct

import pytest
from _sample_runs import h100_run

from aimatrix.cli import main
from aimatrix.results import Result, write_jsonl
from aimatrix.results.report import build_report, export_pngs, find_chromium, render_in_browser, write_report
from aimatrix.results.scorecard_view import format_scorecard

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no headless Chromium on this machine (Debian/Ubuntu: apt-get install -y chromium; .ci/run installs it)",
)


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "base.jsonl", tmp_path / "new.jsonl"
    write_jsonl(a, h100_run(0))
    write_jsonl(b, h100_run(1, slow={"4096x4096x4096 bf16": 1.10}))
    return a, b


def test_report_has_every_section_and_no_external_resource(runs):
    page, charts = build_report([(str(runs[0]), h100_run(0)), (str(runs[1]), h100_run(1))])
    assert {c.name for c in charts} == {
        "roofline-1",
        "gemm-1",
        "membw-1",
        "model-throughput-1",
        "model-latency-1",
        "roofline-2",
        "gemm-2",
        "membw-2",
        "model-throughput-2",
        "model-latency-2",
        "compare-2",
    }
    for text in (
        "NVIDIA H100 80GB HBM3",
        "GPU-5f1c2d3e",
        "0000:19:00.0",
        "580.65.06",
        "Latency percentiles",
        "Synthetic benchmark groups",
        "fitness_error",
        "Telemetry during each measurement",
        "throttled",
        "Failures (1)",
        "fp8 GEMMs need m, n, k multiples of 16",
        "Comparison with",
        "bf16/fp16 peak 1071",
    ):
        assert text in page, text
    # offline: nothing is fetched (SVG namespaces are identifiers, not fetches)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page


def test_report_of_cpu_results_and_failures_only(tmp_path):
    failed = Result(
        "gemm",
        {"m": 8, "n": 8, "k": 8},
        "auto",
        "bf16",
        "cpu",
        error={"type": "UnsupportedError", "message": "bf16 needs a GPU"},
    )
    page, charts = build_report([("cpu.jsonl", [failed])])
    assert charts == [] and "bf16 needs a GPU" in page and "Failures (1)" in page


def test_unwritable_report_path_is_a_clear_error(runs, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"cannot write the report to '.*file/report.html'"):
        write_report(blocker / "report.html", [("a", h100_run(0))])
    assert main(["report", str(runs[0]), "-o", str(tmp_path)]) == 2
    assert f"-o '{tmp_path}' is not allowed: it is a folder" in capsys.readouterr().err  # before reading the runs


@needs_chromium
def test_report_renders_in_headless_chromium_without_console_errors(runs, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(runs[0]), str(runs[1]), "-o", str(out)]) == 0
    dom, console = render_in_browser(out)
    assert console == []  # no errors, no messages of any kind
    charts = int(re.search(r'data-charts="(\d+)"', dom).group(1))
    rendered = int(re.search(r'data-charts-rendered="(\d+)"', dom).group(1))
    assert charts == 11 and rendered == charts


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@needs_chromium
def test_png_export_of_each_chart(tmp_path):
    _, charts = build_report([("a", h100_run(0))])
    charts = [c for c in charts if c.name in ("roofline", "gemm")]
    pngs = export_pngs(charts, tmp_path / "png", scale=1)
    assert [p.name for p in pngs] == ["roofline.png", "gemm.png"]
    for c, p in zip(charts, pngs):
        assert _png_size(p) == (c.width, c.height)
        assert p.stat().st_size > 5000  # a drawn chart, not a blank page


CARD = {
    "reference": {
        "name": "H100 SXM (aimatrix 0.2.0, 2026-12-06)",
        "device": "NVIDIA H100 80GB HBM3",
        "date": "2026-12-06",
        "driver": "580.65.06",
        "versions": {"cuda": "13.0", "cudnn": "9.13"},
        "command": "aimatrix suite --out ref.jsonl",
    },
    "tiers": [
        {
            "tier": "micro",
            "score": 1.0312,
            "cases": 20,
            "scored": 18,
            "no_reference": ["gemm 35x700x2048 fp8", "conv quick-conv-1x1-s2 bf16"],
        },
        {"tier": "macro", "score": None, "cases": 4, "scored": 0, "no_reference": []},
    ],
    "overall": {
        "score": 0.9751,
        "cases": 24,
        "scored": 18,
        "no_reference": ["gemm 35x700x2048 fp8", "conv quick-conv-1x1-s2 bf16"],
    },
}


def test_score_card_comes_first(tmp_path):
    report = write_report(tmp_path / "r.html", [("a", h100_run(0))], scorecard=CARD, problems=["x.jsonl:3: bad"])
    page = report.path.read_text()
    card = page.index("id='scorecard'")
    assert card < page.index("<h2")  # before the input warnings and every run's sections
    section = page[card : page.index("</section>", card)]
    assert "data-score='0.98'" in section and "2.5% slower than the reference" in section
    assert re.search(
        r"<td>micro</td><td class='num score'>1\.03</td><td class='num'>20</td><td class='num'>18</td>"
        r"<td class='num'>2</td>",
        section,
    )
    assert "<td>macro</td><td class='num score'>n/a</td>" in section  # nothing scored: no number made up
    assert re.search(
        r"<details><summary>Cases without a reference[^<]*\(2\)</summary>"
        r"<ul><li>gemm 35x700x2048 fp8</li>",
        section,
    )
    assert (
        "Reference: device: NVIDIA H100 80GB HBM3; date: 2026-12-06; driver: 580.65.06; versions: cuda 13.0, "
        "cudnn 9.13; command: aimatrix suite --out ref.jsonl" in section
    )
    assert "id='scorecard'" not in build_report([("a", h100_run(0))])[0]  # no card unless given


def test_score_card_as_text_and_from_a_broken_card():
    text = format_scorecard(CARD)
    lines = text.splitlines()
    assert lines[0] == "Score against H100 SXM (aimatrix 0.2.0, 2026-12-06): 0.98 (2.5% slower than the reference)"
    assert "  reference driver: 580.65.06" in lines
    assert re.search(r"^  micro\s+1\.03  \(18 of 20 cases scored\)$", text, re.M)
    assert re.search(r"^  macro\s+n/a  \(0 of 4 cases scored\)$", text, re.M)
    assert re.search(r"^  overall\s+0\.98  \(18 of 24 cases scored\)$", text, re.M)
    assert lines[-1] == "  without a reference (2): gemm 35x700x2048 fp8, conv quick-conv-1x1-s2 bf16"
    broken = {
        "reference": "H100",
        "tiers": [{"tier": "micro\x1b[2J", "score": "fast", "cases": None}, 5],
        "overall": {"score": float("nan"), "no_reference": [f"case {i}" for i in range(25)]},
    }
    text = format_scorecard(broken)
    assert "\x1b" not in text and "micro\ufffd[2J" in text and "n/a" in text and ", and 15 more" in text
    page, _ = build_report([("a", h100_run(0))], scorecard=broken)
    assert "data-score='n/a'" in page and "no case scored" in page
