"""Report charts: well-formed SVG, no script or inline style (CSP), escaped text, odd inputs."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from portal.reports.charts import (
    bar_comparison,
    heatmap,
    nice_ticks,
    sparkline,
    trend_chart,
)

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
QUOTES = "\"&'"


def parse(svg: Markup) -> ET.Element:
    """Checks shared by every chart; returns the parsed root."""
    assert isinstance(svg, Markup)
    text = str(svg)
    lowered = text.lower()
    assert "style=" not in lowered
    assert "<script" not in lowered
    assert "<style" not in lowered
    assert "javascript:" not in lowered
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    assert root.get("viewBox")
    assert root.get("role") in ("img", "group")
    return root


def find(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(f"{NS}{tag}")
    if cls is None:
        return list(found)
    return [el for el in found if cls in (el.get("class") or "").split()]


def texts(root: ET.Element) -> list[str]:
    """The visible strings of <text> elements (their <title> tooltips left out)."""
    shown = []
    for el in find(root, "text"):
        parts = [el.text or ""]
        for child in el:
            if child.tag != f"{NS}title":
                parts.append("".join(child.itertext()))
            parts.append(child.tail or "")
        shown.append("".join(parts))
    return shown


def all_text(root: ET.Element) -> str:
    return " ".join(root.itertext())


def assert_labelled(root: ET.Element, title: str) -> None:
    assert root.get("aria-label") == title
    first = root[0]
    assert first.tag == f"{NS}title" and first.text == title


def assert_readable(root: ET.Element) -> None:
    """Text is at least 12 units high in a viewBox at least 720 wide (projector, print)."""
    assert float(root.get("viewBox").split()[2]) >= 720
    sizes = [float(el.get("font-size")) for el in find(root, "text")]
    assert sizes and min(sizes) >= 12


WEEKS = [f"2026-W{i:02d}" for i in range(1, 9)]


# --- nice ticks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 0.73, [0, 0.2, 0.4, 0.6, 0.8]),
        (0, 1, [0, 0.25, 0.5, 0.75, 1]),
        (0, 3, [0, 1, 2, 3]),
        (0, 47, [0, 20, 40, 60]),
        (0, 130, [0, 50, 100, 150]),
        (-2, 6, [-2, 0, 2, 4, 6]),
    ],
)
def test_nice_ticks(low, high, expected):
    assert nice_ticks(low, high) == pytest.approx(expected)


@pytest.mark.parametrize("high", [0.01, 0.07, 0.5, 0.99, 1, 3, 7, 12, 99, 101, 999, 12345])
def test_nice_ticks_cover_the_range_in_four_or_five_steps(high):
    ticks = nice_ticks(0, high)
    assert ticks[0] == 0 and ticks[-1] >= high
    assert 4 <= len(ticks) <= 5
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1


def test_nice_ticks_of_a_flat_range():
    assert nice_ticks(0, 0) == pytest.approx([0, 0.25, 0.5, 0.75, 1])


# --- sparkline --------------------------------------------------------------------------------


def test_sparkline_draws_a_line_and_a_dot_on_the_last_value():
    root = parse(sparkline([1, 3, 2, 5], label="Uses per week"))
    assert_labelled(root, "Uses per week")
    assert root.get("width") == "120" and root.get("height") == "28"
    assert len(find(root, "polyline")) == 1
    (last,) = find(root, "circle", "spark-last")
    assert float(last.get("cx")) == pytest.approx(117)
    assert float(last.get("cy")) == pytest.approx(3)  # the highest value sits at the top


def test_sparkline_gaps_and_a_trailing_gap():
    root = parse(sparkline([1, None, 2, 3, None], width=100, height=20))
    assert len(find(root, "polyline")) == 1  # 2, 3; the lone 1 is a point
    assert len(find(root, "circle", "spark-point")) == 1
    (last,) = find(root, "circle", "spark-last")
    assert float(last.get("cx")) == pytest.approx(3 + 3 * (100 - 6) / 4)


@pytest.mark.parametrize("values", [[], [None, None], [float("nan")]])
def test_sparkline_without_values(values):
    root = parse(sparkline(values, label="Nothing"))
    assert find(root, "line", "spark-empty")
    assert not find(root, "polyline")


def test_sparkline_all_zero_and_single_value():
    flat = parse(sparkline([0, 0, 0]))
    (line,) = find(flat, "polyline")
    assert {pt.split(",")[1] for pt in line.get("points").split()} == {"25"}
    one = parse(sparkline([7]))
    assert len(find(one, "circle", "spark-last")) == 1


def test_sparkline_without_label_is_decorative_and_escapes_a_label():
    assert parse(sparkline([1, 2])).get("aria-hidden") == "true"
    root = parse(sparkline([1, 2], label=HOSTILE + QUOTES))
    assert_labelled(root, HOSTILE + QUOTES)


# --- trend chart ------------------------------------------------------------------------------


def test_trend_chart_lines_markers_legend():
    series = [("Calls", [1, 2, 3, 4, 5, 6, 7, 8]), ("Demos", [0, 1, 1, 2, 3, 5, 8, 13])]
    root = parse(trend_chart(WEEKS, series, "Uses by week", y_label="Uses"))
    assert_labelled(root, "Uses by week")
    assert_readable(root)
    lines = find(root, "polyline", "series-line")
    assert [line.get("class") for line in lines] == [
        "series-line s1",  # legend samples
        "series-line s2",
        "series-line s1",
        "series-line s2",
    ]
    assert len(find(root, "circle", "series-marker")) == 8 + 1  # series 1 + its legend sample
    assert len(find(root, "path", "series-marker")) == 8 + 1  # series 2 draws squares
    shown = texts(root)
    assert "Calls" in shown and "Demos" in shown and "Uses" in shown
    assert "Uses by week" in shown


def test_trend_chart_y_axis_has_four_or_five_nice_ticks():
    root = parse(
        trend_chart(
            WEEKS, [("Rate", [0.1, 0.2, 0.73, None, 0.5, 0.4, 0.3, 0.2])], "R", percent=True
        )
    )
    grid = find(root, "line", "grid")
    assert 4 <= len(grid) <= 5
    shown = texts(root)
    for label in ("0%", "20%", "40%", "60%", "80%"):
        assert label in shown


def test_trend_chart_leaves_gaps_for_missing_values():
    root = parse(trend_chart(WEEKS[:5], [("A", [1, None, 3, 4, float("nan")])], "Gaps"))
    drawn = [line for line in find(root, "polyline") if "legend" not in line.get("class", "")]
    series_lines = drawn[1:]  # the first one is the legend sample
    assert len(series_lines) == 1
    assert len(series_lines[0].get("points").split()) == 2
    assert len(find(root, "circle", "series-marker")) == 3 + 1


def test_trend_chart_single_period():
    root = parse(trend_chart(["2026-W10"], [("A", [3]), ("B", [None])], "One week"))
    assert len(find(root, "polyline")) == 2  # legend samples only
    markers = find(root, "circle", "series-marker")
    assert len(markers) == 2  # legend sample + the one point
    assert "2026-W10" in texts(root)


@pytest.mark.parametrize(
    ("periods", "series"),
    [([], []), (WEEKS, []), ([], [("A", [1])]), (WEEKS, [("A", [None] * 8)])],
)
def test_trend_chart_without_data(periods, series):
    root = parse(trend_chart(periods, series, "Empty", empty_text="Нет данных"))
    assert_labelled(root, "Empty")
    assert "Нет данных" in texts(root)
    assert not find(root, "polyline")


def test_trend_chart_thins_period_labels_but_keeps_the_latest():
    periods = [f"2025-W{i:02d}" for i in range(1, 53)]
    root = parse(trend_chart(periods, [("A", list(range(52)))], "A year"))
    axis = [el for el in root.iter(f"{NS}g") if el.get("class") == "axis axis-x"][0]
    shown = texts(axis)
    assert 4 <= len(shown) < 20
    assert shown[-1] == "2025-W52"
    xs = [float(el.get("x")) for el in find(axis, "text")]
    widths = 8 * 12 * 0.6
    assert all(b - a > widths for a, b in zip(xs, xs[1:], strict=False))


def test_trend_chart_short_series_are_padded_and_long_ones_cut():
    root = parse(trend_chart(WEEKS[:3], [("A", [1]), ("B", [1, 2, 3, 4, 5])], "Ragged"))
    assert len(find(root, "circle", "series-marker")) == 1 + 1
    assert len(find(root, "path", "series-marker")) == 3 + 1


def test_trend_chart_series_beyond_six_reuse_styles():
    series = [(f"S{i}", [i, i + 1]) for i in range(8)]
    root = parse(trend_chart(WEEKS[:2], series, "Many"))
    classes = {line.get("class") for line in find(root, "polyline")}
    assert classes == {f"series-line s{i}" for i in range(1, 7)}


def test_trend_chart_escapes_every_label():
    hostile = HOSTILE + QUOTES
    svg = trend_chart([hostile, "b"], [(hostile, [1, 2])], hostile, y_label=hostile)
    text = str(svg)
    assert HOSTILE not in text
    root = parse(svg)
    assert_labelled(root, hostile)
    assert hostile in all_text(root)


def test_trend_chart_negative_values_include_zero():
    root = parse(trend_chart(WEEKS[:3], [("Delta", [-3, 2, 5])], "Change"))
    assert find(root, "line", "zero")
    assert "-4" in texts(root) or "-2" in texts(root)


# --- bars -------------------------------------------------------------------------------------

ITEMS = [
    {"label": "v1", "value": 0.42, "low": 0.3, "high": 0.55, "note": "first draft"},
    {"label": "v2", "value": 0.61, "low": 0.45, "high": 0.75, "note": "price moved to the end"},
    {"label": "v3", "value": None, "low": None, "high": None, "note": "not sent yet"},
]


def test_bar_comparison_bars_whiskers_and_percent_labels():
    root = parse(bar_comparison(ITEMS, "Response rate by version"))
    assert_labelled(root, "Response rate by version")
    assert_readable(root)
    bars = find(root, "rect", "bar")
    assert len(bars) == 2
    assert float(bars[1].get("width")) > float(bars[0].get("width"))
    whiskers = [g for g in root.iter(f"{NS}g") if g.get("class") == "whisker"]
    assert len(whiskers) == 2 and all(len(find(w, "line")) == 3 for w in whiskers)
    shown = " ".join(texts(root))
    for label in ("v1", "v2", "v3", "first draft", "42%", "30%–55%", "61%", "—"):
        assert label in shown
    for tick in ("0%", "25%", "50%", "75%", "100%"):
        assert tick in texts(root)


def test_bar_comparison_scale_is_zero_to_hundred_percent():
    root = parse(bar_comparison([{"label": "all", "value": 1.0, "low": 0.8, "high": 1.0}], "Full"))
    grid = find(root, "line", "grid")
    (bar,) = find(root, "rect", "bar")
    left, right = float(grid[0].get("x1")), float(grid[-1].get("x1"))
    assert float(bar.get("x")) == pytest.approx(left)
    assert float(bar.get("width")) == pytest.approx(right - left, abs=0.1)


def test_bar_comparison_clamps_and_tolerates_missing_interval():
    items = [
        {"label": "odd", "value": 1.7, "low": None, "high": 0.9},
        {"label": "neg", "value": -1},
    ]
    root = parse(bar_comparison(items, "Odd"))
    widths = [float(bar.get("width")) for bar in find(root, "rect", "bar")]
    assert widths[1] == 0
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "whisker"]
    assert "100%" in " ".join(texts(root))


def test_bar_comparison_without_items():
    root = parse(bar_comparison([], "Nothing yet"))
    assert_labelled(root, "Nothing yet")
    assert "No data" in texts(root)


def test_bar_comparison_escapes_labels_and_notes():
    svg = bar_comparison([{"label": HOSTILE, "value": 0.5, "note": QUOTES + HOSTILE}], QUOTES)
    assert HOSTILE not in str(svg)
    root = parse(svg)
    assert_labelled(root, QUOTES)
    assert HOSTILE in all_text(root)


def test_bar_comparison_long_note_is_cut_with_full_text_in_the_tooltip():
    note = "Moved the price to the last page and added two case studies up front " * 2
    root = parse(bar_comparison([{"label": "v9", "value": 0.2, "note": note}], "Notes"))
    (shown,) = find(root, "text", "bar-note")
    assert shown.text.endswith("…") and len(shown.text) < len(note)
    assert note.strip() in all_text(root)


# --- heatmap ----------------------------------------------------------------------------------

MANAGERS = ["Анна Петрова", "Boris", "Вера"]
TOOLS = ["SPIN", "Case", "Demo", "Price"]
VALUES = [[0, 3, 5, None], [1, 0, 2, 8], [8, 7, 6, 4]]


def test_heatmap_one_rect_per_cell_with_its_number():
    root = parse(heatmap(MANAGERS, TOOLS, VALUES, "Adoption"))
    assert_labelled(root, "Adoption")
    assert root.get("role") == "img"
    assert_readable(root)
    rects = find(root, "rect")
    assert len(rects) == len(MANAGERS) * len(TOOLS)
    labels = [el.text for el in find(root, "text", "heat-label")]
    assert labels == ["0", "3", "5", "—", "1", "0", "2", "8", "8", "7", "6", "4"]
    for name in MANAGERS + TOOLS:
        assert name in texts(root)


def test_heatmap_shades_by_value():
    root = parse(heatmap(MANAGERS, TOOLS, VALUES, "Adoption"))
    classes = [rect.get("class").split()[-1] for rect in find(root, "rect")]
    assert classes == [
        "heat-0", "heat-2", "heat-3", "heat-none",
        "heat-1", "heat-0", "heat-1", "heat-4",
        "heat-4", "heat-4", "heat-3", "heat-2",
    ]  # fmt: skip
    dark = [el.text for el in find(root, "text", "on-dark")]
    assert dark == ["5", "8", "8", "7", "6"]


def test_heatmap_max_value_sets_the_scale():
    root = parse(heatmap(["a"], ["x", "y"], [[1, 2]], "Scaled", max_value=8))
    classes = [rect.get("class").split()[-1] for rect in find(root, "rect")]
    assert classes == ["heat-1", "heat-1"]


def test_heatmap_percent_values_and_ragged_rows():
    root = parse(heatmap(["a", "b"], ["x", "y"], [[0.25, 1.0], [0.5]], "Shares", percent=True))
    assert [el.text for el in find(root, "text", "heat-label")] == ["25%", "100%", "50%", "—"]


def test_heatmap_links_are_escaped_and_unsafe_ones_dropped():
    links = [
        ["/reports/usage?manager=1&tool=2", None, 'x"><script>alert(1)</script>', None],
        [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,hi",
            "https://e.x/a?b=1&c=2",
        ],
        [None, None],
    ]
    svg = heatmap(MANAGERS, TOOLS, VALUES, "Adoption", links=links)
    text = str(svg)
    assert "manager=1&amp;tool=2" in text
    assert HOSTILE not in text
    root = parse(svg)
    assert root.get("role") == "group"
    hrefs = [a.get("href") for a in find(root, "a")]
    assert hrefs == [
        "/reports/usage?manager=1&tool=2",
        'x"><script>alert(1)</script>',  # relative, harmless once escaped
        "https://e.x/a?b=1&c=2",
    ]
    assert len(find(root, "rect")) == 12
    for a in find(root, "a"):
        assert find(a, "rect") and find(a, "title")


def test_heatmap_long_column_labels_are_rotated_and_cut_with_a_tooltip():
    long = "Handling the «Дорого» objection with a price anchor"
    root = parse(heatmap(["a"], [long, "b"], [[1, 2]], "Long"))
    cols = [g for g in root.iter(f"{NS}g") if g.get("class") == "col-labels"][0]
    first = find(cols, "text")[0]
    assert "rotate(" in first.get("transform")
    assert texts(cols)[0].endswith("…")
    assert find(first, "title")[0].text == long
    right = max(float(el.get("x")) for el in find(root, "rect"))
    assert float(root.get("viewBox").split()[2]) > right


def test_heatmap_short_column_labels_stay_flat():
    root = parse(heatmap(["a"], ["x", "y"], [[1, 2]], "Short"))
    assert all(el.get("transform") is None for el in find(root, "text"))


def test_heatmap_escapes_labels():
    svg = heatmap([HOSTILE], [QUOTES], [[1]], HOSTILE)
    assert HOSTILE not in str(svg)
    root = parse(svg)
    assert_labelled(root, HOSTILE)
    assert HOSTILE in texts(root) and QUOTES in texts(root)


@pytest.mark.parametrize(
    ("rows", "cols", "values"),
    [([], [], []), (["a"], [], [[]]), ([], ["x"], [])],
)
def test_heatmap_without_data(rows, cols, values):
    root = parse(heatmap(rows, cols, values, "Nobody yet"))
    assert "No data" in texts(root)
    assert not find(root, "rect", "heat-cell")


def test_heatmap_all_unknown_or_zero():
    root = parse(heatmap(["a"], ["x", "y"], [[None, math.nan]], "Unknown"))
    assert [r.get("class").split()[-1] for r in find(root, "rect")] == ["heat-none"] * 2
    root = parse(heatmap(["a"], ["x", "y"], [[0, 0]], "Zero"))
    assert [r.get("class").split()[-1] for r in find(root, "rect")] == ["heat-0"] * 2


def test_control_characters_never_break_the_xml():
    label = "bad\x00\x07\x1bname"
    parse(trend_chart(["w1", "w2"], [(label, [1, 2])], label))
    parse(bar_comparison([{"label": label, "value": 0.1, "note": label}], label))
    root = parse(heatmap([label], [label], [[1]], label))
    assert "badname" in texts(root)
