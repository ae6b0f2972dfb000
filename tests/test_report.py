"""The HTML report: self-contained, every section, renders in a real headless Chromium; PNG export; bad paths."""

import re
import struct

import pytest

from _sample_runs import h100_run
from aimatrix.cli import main
from aimatrix.results import Result, write_jsonl
from aimatrix.results.report import build_report, export_pngs, find_chromium, render_in_browser, write_report

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no headless Chromium on this machine (Debian/Ubuntu: apt-get install -y chromium; .ci/run installs it)")


@pytest.fixture
def runs(tmp_path):
    a, b = tmp_path / "base.jsonl", tmp_path / "new.jsonl"
    write_jsonl(a, h100_run(0))
    write_jsonl(b, h100_run(1, slow={"4096x4096x4096 bf16": 1.10}))
    return a, b


def test_report_has_every_section_and_no_external_resource(runs):
    page, charts = build_report([(str(runs[0]), h100_run(0)), (str(runs[1]), h100_run(1))])
    assert {c.name for c in charts} == {"roofline-1", "gemm-1", "membw-1", "model-throughput-1", "model-latency-1",
                                        "roofline-2", "gemm-2", "membw-2", "model-throughput-2", "model-latency-2",
                                        "compare-2"}
    for text in ("NVIDIA H100 80GB HBM3", "GPU-5f1c2d3e", "0000:19:00.0", "580.65.06", "Latency percentiles",
                 "Synthetic benchmark groups", "fitness_error", "Telemetry during each measurement", "throttled",
                 "Failures (1)", "fp8 GEMMs need m, n, k multiples of 16", "Comparison with", "bf16/fp16 peak 1071"):
        assert text in page, text
    # offline: nothing is fetched (SVG namespaces are identifiers, not fetches)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page


def test_report_of_cpu_results_and_failures_only(tmp_path):
    failed = Result("gemm", {"m": 8, "n": 8, "k": 8}, "auto", "bf16", "cpu",
                    error={"type": "UnsupportedError", "message": "bf16 needs a GPU"})
    page, charts = build_report([("cpu.jsonl", [failed])])
    assert charts == [] and "bf16 needs a GPU" in page and "Failures (1)" in page


def test_unwritable_report_path_is_a_clear_error(runs, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"cannot write the report to '.*file/report.html'"):
        write_report(blocker / "report.html", [("a", h100_run(0))])
    assert main(["report", str(runs[0]), "-o", str(tmp_path)]) == 2
    assert f"cannot write the report to '{tmp_path}': Is a directory" in capsys.readouterr().err


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
