"""JupySQL over runs:// (issue 16), driven through IPython's own shell (no browser, no kernel):
`%sql` and `%%sql`, `%sqlcmd tables/columns/profile`, `%sqlplot histogram/bar/pie/boxplot`
(plots headless, matplotlib's Agg backend), and training curves from time_series_data drawn
with pandas and matplotlib, against a demo emulator. Each answer is checked against the same
data read by plain SQL or the API.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import start_ipython
from support.dialect import Demo

SEEDS_SQL = ("SELECT experimentsId, CAST(labels ->> '$.seed' AS INTEGER) AS seed, "
             "labels ->> '$.status' AS status FROM runs")


@pytest.fixture(scope="module")
def ip(demo: Demo) -> Iterator[InteractiveShell]:
    shell = start_ipython()
    assert shell is not None
    shell.run_line_magic("load_ext", "sql")
    shell.run_line_magic("config", "SqlMagic.displaylimit = 0")
    shell.run_line_magic("sql", demo.url(demo.tensorboard))
    shell.run_cell_magic("sql", "--save seeds --no-execute", SEEDS_SQL)
    yield shell
    shell.run_line_magic("sql", "--close " + demo.url(demo.tensorboard))


@pytest.fixture()
def figure() -> Iterator[None]:
    plt.figure()
    yield
    plt.close("all")


def rows(ip: InteractiveShell, sql: str) -> list[tuple[Any, ...]]:
    result = ip.run_line_magic("sql", sql)
    return [tuple(row) for row in result]


def seeds(ip: InteractiveShell) -> list[tuple[str, int, str]]:
    return [(e, int(s), t) for e, s, t in rows(ip, SEEDS_SQL)]


def test_sql_line_magic(ip: InteractiveShell) -> None:
    result = ip.run_line_magic(
        "sql", "SELECT runsId, labels FROM runs WHERE experimentsId = 'bert-glue' "
               "ORDER BY runsId LIMIT 3")
    frame = result.DataFrame()
    assert frame["runsId"].tolist() == ["bert-glue-0001", "bert-glue-0002", "bert-glue-0003"]
    assert frame["labels"].iloc[0]["team"] == "nlp"


def test_sql_cell_magic_with_a_variable(ip: InteractiveShell) -> None:
    ip.user_ns["status"] = "failed"
    result = ip.run_cell_magic("sql", "", """
        SELECT experimentsId, count(*) AS failed
        FROM runs
        WHERE labels ->> '$.status' = '{{status}}'
        GROUP BY experimentsId
        ORDER BY experimentsId
    """)
    counted = dict(tuple(row) for row in result)
    expected = Counter(e for e, _, s in seeds(ip) if s == "failed")
    assert counted == dict(expected) and len(counted) == 6


def test_sql_cell_assigns_to_a_variable(ip: InteractiveShell) -> None:
    ip.run_cell_magic("sql", "experiments <<", "SELECT experimentsId FROM experiments")
    assert sorted(r[0] for r in ip.user_ns["experiments"]) == [
        "bert-glue", "ppo-atari", "resnet-sweep", "t5-summarize", "vit-finetune",
        "wavenet-tts"]


def test_sqlcmd_tables_and_columns(ip: InteractiveShell) -> None:
    tables = str(ip.run_line_magic("sqlcmd", "tables"))
    for name in ("runs", "experiments", "tensorboards"):
        assert f" {name} " in tables
    columns = ip.run_line_magic("sqlcmd", "columns --table runs")
    text = str(columns)
    for name in ("name", "createTime", "displayName", "labels", "experimentsId", "runsId"):
        assert f" {name} " in text
    assert "DATETIME" in text and "JSON" in text


def test_sqlcmd_profile_has_numbers_for_numbers(ip: InteractiveShell) -> None:
    """runCount is numeric: count, mean, std, min, the percentiles and max are numbers (mean and
    the percentiles are the run count; std of one value is 0), not nan."""
    profile = ip.run_line_magic("sqlcmd", "profile --table tensorboards")
    table = profile._table
    field = table.field_names.index("runCount")
    stats = {row[0]: row[field] for row in table.rows}
    run_count = rows(ip, "SELECT runCount FROM tensorboards")[0][0]
    assert run_count == 360
    for key in ("mean", "25%", "50%", "75%"):
        assert float(stats[key]) == run_count, (key, stats)
    assert float(stats["std"]) == 0.0, stats
    assert int(stats["min"]) == int(stats["max"]) == run_count, stats
    assert int(stats["count"]) == 1
    # Text columns get counts and their most frequent value; no numbers.
    names = {row[0]: row[table.field_names.index("displayName")] for row in table.rows}
    assert names["top"] == "demo" and names["freq"] == 1
    assert math.isnan(names["mean"])


@pytest.mark.usefixtures("figure")
def test_sqlplot_histogram(ip: InteractiveShell) -> None:
    ax = ip.run_line_magic("sqlplot", "histogram --table seeds --column seed --with seeds "
                                      "--bins 10")
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 10 and sum(heights) == 360


@pytest.mark.usefixtures("figure")
def test_sqlplot_bar(ip: InteractiveShell) -> None:
    ax = ip.run_line_magic("sqlplot", "bar --table seeds --column status --with seeds")
    shown = {label.get_text(): patch.get_height()
             for label, patch in zip(ax.get_xticklabels(), ax.patches, strict=True)}
    assert shown == dict(Counter(s for _, _, s in seeds(ip)))


@pytest.mark.usefixtures("figure")
def test_sqlplot_pie(ip: InteractiveShell) -> None:
    ax = ip.run_line_magic("sqlplot", "pie --table seeds --column status --with seeds")
    counts = Counter(s for _, _, s in seeds(ip))
    angles = sorted(round(w.theta2 - w.theta1, 6) for w in ax.patches)
    total = sum(counts.values())
    assert angles == sorted(round(360 * n / total, 6) for n in counts.values())


@pytest.mark.usefixtures("figure")
def test_sqlplot_boxplot(ip: InteractiveShell) -> None:
    """The box of the seeds: its quartiles are the data's (JupySQL asks percentile_disc, the
    first value at or past each fraction), its whiskers the smallest and largest seeds."""
    ax = ip.run_line_magic("sqlplot", "boxplot --table seeds --column seed --with seeds")
    values = sorted(s for _, s, _ in seeds(ip))
    drawn = {float(y) for line in ax.get_lines() for y in line.get_ydata()}
    quartiles = {values[math.ceil(q * len(values)) - 1] for q in (0.25, 0.5, 0.75)}
    assert drawn == quartiles | {min(values), max(values)}, (drawn, quartiles)


@pytest.mark.usefixtures("figure")
def test_sql_and_matplotlib_plot_training_curves(ip: InteractiveShell, demo: Demo) -> None:
    """A notebook's curve: `%%sql` into a variable, then a pandas pivot plotted by matplotlib,
    one line per run whose points are the API's."""
    runs = ("bert-glue-0001", "bert-glue-0002", "bert-glue-0003")
    ip.run_cell_magic("sql", "curve <<", f"""
        SELECT runsId, step, scalar FROM time_series_data
        WHERE experimentsId = 'bert-glue' AND displayName = 'loss'
          AND runsId IN {runs} AND step % 500 = 0
        ORDER BY runsId, step
    """)
    result = ip.run_cell("ax = curve.DataFrame().pivot(index='step', columns='runsId', "
                         "values='scalar').plot(title='loss', logy=True)")
    assert result.success, result.error_in_exec
    ax = ip.user_ns["ax"]
    drawn = {}
    for line in ax.get_lines():
        # A run that stopped early is drawn with its missing steps masked (NaN).
        ys: list[float] = np.ma.filled(np.ma.asarray(line.get_ydata(), dtype=float),
                                       np.nan).tolist()
        drawn[line.get_label()] = [(int(x), float(y)) for x, y in
                                   zip(line.get_xdata(), ys, strict=True) if not math.isnan(y)]
    expected = {run: sorted((step, value) for step, value in
                            demo.curve("bert-glue", run, "loss").items() if step % 500 == 0)
                for run in runs}
    assert drawn == expected
    assert all(len(points) > 10 for points in drawn.values())
    assert ax.get_title() == "loss" and ax.get_yscale() == "log"
