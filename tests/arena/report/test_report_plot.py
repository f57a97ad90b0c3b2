"""``arena plot``: equity and drawdown as a valid PNG, SVG or PDF file."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from arena.cli import app

runner = CliRunner()


def _plot(recorded_run, path, *extra):
    res = runner.invoke(app, ["plot", recorded_run.run_id, "--store", recorded_run.store, "--out", str(path), *extra])
    assert res.exit_code == 0, res.output
    return path


@pytest.mark.ray
def test_plot_writes_a_png_of_the_asked_size(recorded_run, tmp_path):
    png = _plot(recorded_run, tmp_path / "equity.png", "--width", "8", "--height", "5", "--dpi", "60").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (480, 300)
    assert png.rstrip(b"\x00")[-8:-4] == b"IEND"


@pytest.mark.ray
def test_plot_svg_draws_the_chosen_contenders_and_marks_the_benchmark(recorded_run, tmp_path):
    svg = _plot(recorded_run, tmp_path / "equity.svg", "--contenders", "bench,sma_10_30", "--log").read_text()
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text}
    assert {"bench (benchmark)", "sma_10_30", "drawdown", "equity (USD)"} <= texts
    assert "tsmom" not in texts and "rsi_reversion" not in texts


@pytest.mark.ray
def test_plot_pdf_and_bad_input(recorded_run, tmp_path):
    assert _plot(recorded_run, tmp_path / "equity.pdf").read_bytes()[:5] == b"%PDF-"
    res = runner.invoke(app, ["plot", recorded_run.run_id, "--store", recorded_run.store, "--out", "x.gif"])
    assert res.exit_code == 2 and ".png, .svg, .pdf" in res.output
    res = runner.invoke(app, ["plot", recorded_run.run_id, "--store", recorded_run.store, "--contenders", "zed",
                              "--out", str(tmp_path / "z.png")])
    assert res.exit_code == 2 and "'zed'" in res.output and not (tmp_path / "z.png").exists()
    res = runner.invoke(app, ["plot", "no-such-run", "--store", recorded_run.store, "--out", str(tmp_path / "n.png")])
    assert res.exit_code == 2 and "no run 'no-such-run'" in res.output


@pytest.mark.ray
def test_report_command_writes_the_same_page_as_the_notebook(recorded_run, tmp_path):
    out = tmp_path / "r" / "report.html"
    res = runner.invoke(app, ["report", recorded_run.run_id, "--store", recorded_run.store, "--out", str(out)])
    assert res.exit_code == 0, res.output
    strip = lambda html: html.split("report generated")[1].split("</p>", 1)[1]  # noqa: E731 - the time differs
    assert strip(out.read_text()) == strip((recorded_run.out / "report.html").read_text())


def test_long_curves_are_downsampled_keeping_extremes_and_ends():
    import numpy as np
    import pandas as pd

    from arena.report.plot import downsample, equity_figure

    n = 200_000
    idx = pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC")
    curve = pd.Series(10_000 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 1e-4, n))), index=idx)
    curve.iloc[123_457] = curve.max() * 1.01  # a one-bar spike must stay drawn
    small = downsample(curve, 1_000)
    assert len(small) <= 1_000 and small.index.is_monotonic_increasing
    assert small.max() == curve.max() and small.min() == curve.min()
    assert small.index[0] == idx[0] and small.index[-1] == idx[-1]
    assert downsample(curve.iloc[:500], 1_000).equals(curve.iloc[:500])
    with pytest.raises(ValueError, match="max_points"):
        downsample(curve, 3)
    fig = equity_figure(pd.DataFrame({"a": curve}), max_points=2_000)
    (line,) = fig.axes[0].get_lines()
    assert len(line.get_xdata()) <= 2_000 and max(line.get_ydata()) == curve.max()
    (dd,) = fig.axes[1].get_lines()
    assert min(dd.get_ydata()) == pytest.approx(float((curve / curve.cummax() - 1).min()))
