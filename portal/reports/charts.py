"""Server-side SVG charts for reports: a sparkline, a trend chart, bars with intervals, a heatmap.

Every chart is plain SVG markup (no script, no inline styles, so the CSP holds), styled by
classes from static/css/charts.css. Text is escaped, sizes are in viewBox units (about 720 wide,
so text of 12 and up reads on a projector), and nothing relies on colour alone: series also
differ in dash pattern and marker shape, and heatmap cells print their numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from markupsafe import Markup, escape

Number = float | int
SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 720
FONT = 14
FONT_SMALL = 12
FONT_TITLE = 16
NO_DATA = "No data"  # shown through gettext: "Нет данных" in Russian
MISSING = "—"
SERIES_STYLES = 6

_CHAR = 0.6  # average glyph width as a share of the font size, for rough layout
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SAFE_SCHEMES = {"", "http", "https"}


# --- text and numbers -------------------------------------------------------------------------


def _esc(text: object) -> str:
    """Text safe inside an element or a quoted attribute, without characters XML forbids."""
    return str(escape(_XML_ILLEGAL.sub("", str(text))))


def _truncate(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def _text_width(text: str, size: float) -> float:
    return len(text) * size * _CHAR


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _decimals(step: float) -> int:
    for digits in range(7):
        if abs(round(step, digits) - step) < 1e-9 * max(1.0, abs(step)):
            return digits
    return 6


def _format(value: float, percent: bool = False, step: float | None = None) -> str:
    """42% or 0.42 or 12; with a tick step, as many decimals as the step needs."""
    scale = 100.0 if percent else 1.0
    shown = value * scale
    if step is not None:
        text = f"{shown:.{_decimals(step * scale)}f}"
    elif percent or abs(shown) >= 100:
        text = f"{shown:.1f}"
    else:
        text = f"{shown:.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text + ("%" if percent else "")


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering low..high in about `count` steps of 1, 2, 2.5 or 5 × 10^k."""
    if not high > low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * magnitude >= raw * (1 - 1e-9):
            step = factor * magnitude
            break
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    steps = round((end - start) / step)
    return [round(start + i * step, 10) for i in range(steps + 1)]


# --- svg scaffolding --------------------------------------------------------------------------


def _open(
    width: float,
    height: float,
    title: str,
    kind: str,
    role: str = "img",
    size: tuple[float, float] | None = None,
) -> list[str]:
    label = _esc(title)
    sized = f' width="{_n(size[0])}" height="{_n(size[1])}"' if size else ""
    return [
        f'<svg xmlns="{SVG_NS}" class="{kind}" viewBox="0 0 {_n(width)} {_n(height)}"{sized}'
        f' role="{role}" aria-label="{label}">',
        f"<title>{label}</title>",
    ]


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))


def _title_text(title: str, width: float) -> str:
    shown = _truncate(title, int(width / (FONT_TITLE * _CHAR)))
    return (
        f'<text class="chart-title" x="0" y="{FONT_TITLE + 2}" font-size="{FONT_TITLE}"'
        f' font-weight="bold">{_esc(shown)}</text>'
    )


def _empty(title: str, kind: str, message: str, height: float = 160) -> Markup:
    if message == NO_DATA:
        from flask_babel import gettext

        message = gettext("No data")
    parts = _open(WIDTH, height, title, f"chart {kind} chart-empty")
    parts.append(_title_text(title, WIDTH))
    parts.append(
        f'<rect class="empty-frame" x="1" y="32" width="{WIDTH - 2}" height="{_n(height - 34)}"'
        ' fill="none" stroke="#d9dee5" stroke-dasharray="6 4"/>'
    )
    parts.append(
        f'<text class="empty-text" x="{WIDTH / 2:g}" y="{_n(32 + (height - 32) / 2 + 5)}"'
        f' font-size="{FONT}" text-anchor="middle">{_esc(message)}</text>'
    )
    return _close(parts)


def _series_class(index: int) -> str:
    return f"s{index % SERIES_STYLES + 1}"


def _marker(index: int, x: float, y: float, tip: str = "", size: float = 4.5) -> str:
    """A marker whose shape differs per series, so series differ without colour."""
    shape = index % SERIES_STYLES
    cls = f"series-marker {_series_class(index)}"
    tip_el = f"<title>{_esc(tip)}</title>" if tip else ""
    paint = 'fill="currentColor" stroke="currentColor" stroke-width="1.5"'
    if shape == 0:
        head = f'<circle class="{cls}" cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}" {paint}'
    elif shape == 5:
        head = (
            f'<circle class="{cls} hollow" cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}"'
            ' fill="#fff" stroke="currentColor" stroke-width="2"'
        )
    else:
        s = size
        corners = {
            1: [(-s, -s), (s, -s), (s, s), (-s, s)],  # square
            2: [(0, -s * 1.25), (s * 1.15, s * 0.85), (-s * 1.15, s * 0.85)],  # triangle up
            3: [(0, -s * 1.3), (s * 1.3, 0), (0, s * 1.3), (-s * 1.3, 0)],  # diamond
            4: [(0, s * 1.25), (s * 1.15, -s * 0.85), (-s * 1.15, -s * 0.85)],  # triangle down
        }[shape]
        d = "M" + " L".join(f"{_n(x + dx)} {_n(y + dy)}" for dx, dy in corners) + " Z"
        head = f'<path class="{cls}" d="{d}" {paint}'
    return f"{head}>{tip_el}</{'circle' if shape in (0, 5) else 'path'}>"


def _segments(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points, split where a value is missing."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _polyline(run: list[tuple[float, float]], cls: str, width: float = 2.5) -> str:
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
    return (
        f'<polyline class="{cls}" points="{coords}" fill="none" stroke="currentColor"'
        f' stroke-width="{_n(width)}" stroke-linejoin="round" stroke-linecap="round"/>'
    )


# --- sparkline --------------------------------------------------------------------------------


def sparkline(
    values: Sequence[Number | None], width: int = 120, height: int = 28, label: str = ""
) -> Markup:
    """A small line of values with a dot on the last one; gaps where a value is None.

    Without a label it is decorative (aria-hidden), since the number beside it says it all.
    """
    pad = 3.0
    parts = _open(width, height, label, "sparkline", size=(width, height))
    if not label:
        parts[0] = parts[0].replace(' aria-label=""', ' aria-hidden="true"')
        parts.pop()  # no empty <title>
    numbers = [_finite(v) for v in values]
    known = [v for v in numbers if v is not None]
    if not known:
        y = _n(height - pad)
        parts.append(
            f'<line class="spark-empty" x1="{_n(pad)}" y1="{y}" x2="{_n(width - pad)}" y2="{y}"'
            ' stroke="currentColor" stroke-width="1" stroke-dasharray="2 3"/>'
        )
        return _close(parts)

    low, high = min(0.0, min(known)), max(known)
    span = high - low

    def y_of(value: float) -> float:
        if span == 0:
            return height - pad
        return height - pad - (value - low) / span * (height - 2 * pad)

    count = len(numbers)
    step = (width - 2 * pad) / (count - 1) if count > 1 else 0.0
    points = [
        None if v is None else ((pad + i * step) if count > 1 else width / 2, y_of(v))
        for i, v in enumerate(numbers)
    ]
    for run in _segments(points):
        if len(run) == 1:
            x, y = run[0]
            parts.append(
                f'<circle class="spark-point" cx="{_n(x)}" cy="{_n(y)}" r="1.5"'
                ' fill="currentColor"/>'
            )
        else:
            parts.append(_polyline(run, "spark-line", 1.5))
    last = next(p for p in reversed(points) if p is not None)
    parts.append(
        f'<circle class="spark-last" cx="{_n(last[0])}" cy="{_n(last[1])}" r="2.5"'
        ' fill="currentColor"/>'
    )
    return _close(parts)


# --- trend chart ------------------------------------------------------------------------------


def _legend(names: list[str], width: float, top: float) -> tuple[list[str], float]:
    """Legend items (line sample, marker, name) laid out in rows; returns parts and height."""
    parts: list[str] = ['<g class="legend">']
    x, y, row_height = 0.0, top, FONT + 10
    for index, name in enumerate(names):
        shown = _truncate(name, 40)
        item_width = 34 + _text_width(shown, FONT) + 18
        if x > 0 and x + item_width > width:
            x, y = 0.0, y + row_height
        mid = y + row_height / 2
        cls = _series_class(index)
        parts.append(f'<g class="legend-item {cls}">')
        parts.append(f"<title>{_esc(name)}</title>")
        parts.append(_polyline([(x + 2, mid), (x + 28, mid)], f"series-line {cls}"))
        parts.append(_marker(index, x + 15, mid))
        parts.append(
            f'<text x="{_n(x + 34)}" y="{_n(mid + FONT * 0.35)}" font-size="{FONT}">'
            f"{_esc(shown)}</text></g>"
        )
        x += item_width
    parts.append("</g>")
    return parts, y + row_height - top


def trend_chart(
    periods: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    title: str,
    y_label: str = "",
    percent: bool = False,
    *,
    empty_text: str = NO_DATA,
) -> Markup:
    """Lines with markers, one per series (up to about six), over the period labels.

    With percent, values are shares (0.42) shown as 42%. None leaves a gap in the line.
    """
    rows = [
        (str(name), [_finite(v) for v in list(values)[: len(periods)]]) for name, values in series
    ]
    rows = [(name, values + [None] * (len(periods) - len(values))) for name, values in rows]
    known = [v for _, values in rows for v in values if v is not None]
    if not periods or not known:
        return _empty(title, "chart-trend", empty_text)

    low, high = min(0.0, min(known)), max(0.0, max(known))
    if high == low:
        high = low + (1.0 if percent or low == 0 else abs(low))
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0]
    tick_labels = [_format(t, percent, step) for t in ticks]

    legend, legend_height = _legend([name for name, _ in rows], WIDTH, 30)
    labels = [_truncate(p, 14) for p in periods]
    label_width = max(_text_width(text, FONT_SMALL) for text in labels) + 12
    left = 12 + max(_text_width(t, FONT_SMALL) for t in tick_labels) + (22 if y_label else 0)
    left = max(left, label_width / 2 + 4)  # room for the first period label, centred
    right = max(24.0, label_width / 2 + 4)
    top = 30 + legend_height + 16
    plot_height = 240
    bottom = 40
    height = top + plot_height + bottom
    plot_width = WIDTH - left - right

    def y_of(value: float) -> float:
        return top + plot_height - (value - ticks[0]) / (ticks[-1] - ticks[0]) * plot_height

    count = len(periods)
    gap = plot_width / (count - 1) if count > 1 else 0.0

    def x_of(index: int) -> float:
        return left + index * gap if count > 1 else left + plot_width / 2

    parts = _open(WIDTH, height, title, "chart chart-trend")
    parts.append(_title_text(title, WIDTH))
    parts.extend(legend)

    parts.append('<g class="axis axis-y">')
    for tick, text in zip(ticks, tick_labels, strict=True):
        y = _n(y_of(tick))
        cls = "grid zero" if tick == 0 else "grid"
        parts.append(
            f'<line class="{cls}" x1="{_n(left)}" y1="{y}" x2="{_n(left + plot_width)}" y2="{y}"'
            ' stroke="#d9dee5" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_n(left - 6)}" y="{_n(y_of(tick) + FONT_SMALL * 0.35)}"'
            f' font-size="{FONT_SMALL}" text-anchor="end">{_esc(text)}</text>'
        )
    if y_label:
        mid = top + plot_height / 2
        shown = _truncate(y_label, int(plot_height / (FONT_SMALL * _CHAR)))
        parts.append(
            f'<text class="axis-label" x="{_n(FONT_SMALL)}" y="{_n(mid)}" font-size="{FONT_SMALL}"'
            f' text-anchor="middle" transform="rotate(-90 {_n(FONT_SMALL)} {_n(mid)})">'
            f"<title>{_esc(y_label)}</title>{_esc(shown)}</text>"
        )
    parts.append("</g>")

    every = max(1, math.ceil(label_width / gap)) if count > 1 else 1
    baseline = _n(top + plot_height)
    parts.append('<g class="axis axis-x">')
    parts.append(
        f'<line class="axis-line" x1="{_n(left)}" y1="{baseline}" x2="{_n(left + plot_width)}"'
        f' y2="{baseline}" stroke="currentColor" stroke-width="1"/>'
    )
    for index, period in enumerate(periods):
        if (count - 1 - index) % every:
            continue  # thinned; the latest period always keeps its label
        x = x_of(index)
        parts.append(
            f'<line class="tick" x1="{_n(x)}" y1="{baseline}" x2="{_n(x)}"'
            f' y2="{_n(top + plot_height + 5)}" stroke="currentColor" stroke-width="1"/>'
            f'<text x="{_n(x)}" y="{_n(top + plot_height + 22)}" font-size="{FONT_SMALL}"'
            f' text-anchor="middle"><title>{_esc(period)}</title>{_esc(labels[index])}</text>'
        )
    parts.append("</g>")

    for index, (name, values) in enumerate(rows):
        cls = _series_class(index)
        points = [None if v is None else (x_of(i), y_of(v)) for i, v in enumerate(values)]
        parts.append(f'<g class="series {cls}">')
        for run in _segments(points):
            if len(run) > 1:
                parts.append(_polyline(run, f"series-line {cls}"))
        for i, value in enumerate(values):
            if value is not None:
                tip = f"{name} — {periods[i]}: {_format(value, percent)}"
                parts.append(_marker(index, x_of(i), y_of(value), tip))
        parts.append("</g>")
    return _close(parts)


# --- bars with intervals ----------------------------------------------------------------------


def _share(value: object) -> float | None:
    number = _finite(value)
    return None if number is None else min(1.0, max(0.0, number))


def bar_comparison(
    items: Sequence[dict], title: str, *, empty_text: str = NO_DATA, interval_label: str = "95%"
) -> Markup:
    """Horizontal bars of shares (0..1, shown 0..100%) with their 95% intervals as whiskers.

    Each item: {"label", "value", "low", "high", "note"}; value, low and high may be None.
    """
    if not items:
        return _empty(title, "chart-bars", empty_text)
    label_width = 230.0
    value_room = 128.0
    left = label_width + 12
    plot_width = WIDTH - left - value_room
    top = 40.0
    row_height = 50.0
    bar_height = 22.0
    height = top + row_height * len(items) + 36
    plot_bottom = top + row_height * len(items)

    def x_of(share: float) -> float:
        return left + share * plot_width

    parts = _open(WIDTH, height, title, "chart chart-bars")
    parts.append(_title_text(title, WIDTH))
    parts.append('<g class="axis axis-x">')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = _n(x_of(tick))
        parts.append(
            f'<line class="{"grid zero" if tick == 0 else "grid"}" x1="{x}" y1="{_n(top)}"'
            f' x2="{x}" y2="{_n(plot_bottom)}" stroke="#d9dee5" stroke-width="1"/>'
            f'<text x="{x}" y="{_n(plot_bottom + 20)}" font-size="{FONT_SMALL}"'
            f' text-anchor="middle">{_format(tick, True)}</text>'
        )
    parts.append("</g>")

    label_chars = int(label_width / (FONT * _CHAR))
    note_chars = int(label_width / (FONT_SMALL * _CHAR))
    for index, item in enumerate(items):
        label = str(item.get("label") or "")
        note = str(item.get("note") or "")
        value, low, high = (_share(item.get(key)) for key in ("value", "low", "high"))
        mid = top + row_height * index + row_height / 2
        summary = f"{label}: {MISSING if value is None else _format(value, True)}"
        if low is not None and high is not None:
            summary += f" ({interval_label}: {_format(low, True)}–{_format(high, True)})"
        if note:
            summary += f" — {note}"
        parts.append(f'<g class="bar-row"><title>{_esc(summary)}</title>')
        label_y = mid - 3 if note else mid + FONT * 0.35
        parts.append(
            f'<text class="bar-label" x="{_n(label_width)}" y="{_n(label_y)}" font-size="{FONT}"'
            f' font-weight="bold" text-anchor="end">{_esc(_truncate(label, label_chars))}</text>'
        )
        if note:
            parts.append(
                f'<text class="bar-note" x="{_n(label_width)}" y="{_n(mid + FONT_SMALL + 3)}"'
                f' font-size="{FONT_SMALL}" text-anchor="end">'
                f"{_esc(_truncate(note, note_chars))}</text>"
            )
        if value is None:
            parts.append(
                f'<text class="bar-value missing" x="{_n(left + 8)}" y="{_n(mid + FONT * 0.35)}"'
                f' font-size="{FONT}">{MISSING}</text></g>'
            )
            continue
        parts.append(
            f'<rect class="bar" x="{_n(left)}" y="{_n(mid - bar_height / 2)}"'
            f' width="{_n(max(0.0, x_of(value) - left))}" height="{_n(bar_height)}"'
            ' fill="#9db8e3" stroke="currentColor" stroke-width="1"/>'
        )
        end = x_of(value)
        if low is not None and high is not None:
            low, high = min(low, high), max(low, high)
            x1, x2 = _n(x_of(low)), _n(x_of(high))
            cap = f"{_n(mid - 8)}", f"{_n(mid + 8)}"
            parts.append(
                f'<g class="whisker" stroke="currentColor" stroke-width="2">'
                f'<line x1="{x1}" y1="{_n(mid)}" x2="{x2}" y2="{_n(mid)}"/>'
                f'<line x1="{x1}" y1="{cap[0]}" x2="{x1}" y2="{cap[1]}"/>'
                f'<line x1="{x2}" y1="{cap[0]}" x2="{x2}" y2="{cap[1]}"/></g>'
            )
            end = max(end, x_of(high))
            interval = f"{_format(low, True)}–{_format(high, True)}"
        else:
            interval = ""
        parts.append(
            f'<text class="bar-value" x="{_n(end + 8)}" y="{_n(mid + FONT * 0.35)}"'
            f' font-size="{FONT}" font-weight="bold">{_esc(_format(value, True))}'
        )
        if interval:
            parts.append(
                f'<tspan class="bar-interval" font-size="{FONT_SMALL}" font-weight="normal"'
                f' dx="6">{_esc(interval)}</tspan>'
            )
        parts.append("</text></g>")
    return _close(parts)


# --- heatmap ----------------------------------------------------------------------------------


def _heat_class(value: float | None, top: float) -> str:
    """heat-0 for nothing at all, heat-1..4 for quarters of the top value, heat-none if unknown."""
    if value is None:
        return "heat-none"
    if value <= 0:
        return "heat-0"
    if top <= 0:
        return "heat-4"
    return f"heat-{min(4, max(1, math.ceil(value / top * 4 - 1e-9)))}"


def _safe_href(href: object) -> str | None:
    if href is None:
        return None
    text = str(href).strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    return text if text and scheme in _SAFE_SCHEMES else None


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[Number | None]],
    title: str,
    max_value: float | None = None,
    links: Sequence[Sequence[str | None]] | None = None,
    *,
    percent: bool = False,
    empty_text: str = NO_DATA,
) -> Markup:
    """A rows × columns grid shaded by value, each cell also printing its number.

    Shades: heat-0 (zero), heat-1..4 (quarters of max_value, by default the largest value),
    heat-none (unknown, printed as a dash). Links, when given, make cells clickable; only
    relative, http and https addresses are kept.
    """
    if not row_labels or not col_labels:
        return _empty(title, "chart-heatmap", empty_text)
    n_rows, n_cols = len(row_labels), len(col_labels)

    def cell(r: int, c: int) -> float | None:
        row = values[r] if r < len(values) else ()
        return _finite(row[c]) if c < len(row) else None

    def link(r: int, c: int) -> str | None:
        if not links or r >= len(links) or c >= len(links[r]):
            return None
        return _safe_href(links[r][c])

    grid = [[cell(r, c) for c in range(n_cols)] for r in range(n_rows)]
    known = [v for row in grid for v in row if v is not None]
    top_value = _finite(max_value)
    if top_value is None:
        top_value = max(known, default=0.0)

    rows_shown = [_truncate(label, 28) for label in row_labels]
    left = min(250.0, max(80.0, max(_text_width(t, FONT) for t in rows_shown) + 16))
    cell_width = max(48.0, min(96.0, (WIDTH - left - 16) / n_cols))
    cell_height = 36.0
    cols_full = [" ".join(str(label).split()) for label in col_labels]
    flat = all(_text_width(t, FONT_SMALL) <= cell_width - 6 for t in cols_full)
    if flat:
        cols_shown = cols_full
        header = FONT_SMALL + 10.0
        right = 16.0
    else:
        cols_shown = [_truncate(t, 22) for t in cols_full]
        reach = max(_text_width(t, FONT_SMALL) for t in cols_shown) * math.sqrt(0.5)
        header = reach + 16
        right = max(16.0, reach - cell_width / 2 + 8)
    grid_top = 34 + header
    width = max(WIDTH, left + n_cols * cell_width + right)
    height = grid_top + n_rows * cell_height + 8
    role = (
        "group"
        if links and any(link(r, c) for r in range(n_rows) for c in range(n_cols))
        else "img"
    )

    parts = _open(width, height, title, "chart chart-heatmap", role=role)
    parts.append(_title_text(title, width))

    parts.append('<g class="col-labels">')
    for c, (full, shown) in enumerate(zip(cols_full, cols_shown, strict=True)):
        cx = left + c * cell_width + cell_width / 2
        y = grid_top - 8
        if flat:
            parts.append(
                f'<text x="{_n(cx)}" y="{_n(y)}" font-size="{FONT_SMALL}" text-anchor="middle">'
                f"<title>{_esc(full)}</title>{_esc(shown)}</text>"
            )
        else:
            parts.append(
                f'<text x="{_n(cx)}" y="{_n(y)}" font-size="{FONT_SMALL}" text-anchor="start"'
                f' transform="rotate(-45 {_n(cx)} {_n(y)})">'
                f"<title>{_esc(full)}</title>{_esc(shown)}</text>"
            )
    parts.append("</g>")

    parts.append('<g class="row-labels">')
    for r, (full, shown) in enumerate(zip(row_labels, rows_shown, strict=True)):
        y = grid_top + r * cell_height + cell_height / 2 + FONT * 0.35
        parts.append(
            f'<text x="{_n(left - 8)}" y="{_n(y)}" font-size="{FONT}" text-anchor="end">'
            f"<title>{_esc(full)}</title>{_esc(shown)}</text>"
        )
    parts.append("</g>")

    parts.append('<g class="cells">')
    for r in range(n_rows):
        for c in range(n_cols):
            value = grid[r][c]
            heat = _heat_class(value, top_value)
            shown = MISSING if value is None else _format(value, percent)
            tip = f"{row_labels[r]} — {col_labels[c]}: {shown}"
            x, y = left + c * cell_width, grid_top + r * cell_height
            dark = " on-dark" if heat in ("heat-3", "heat-4") else ""
            body = (
                f"<title>{_esc(tip)}</title>"
                f'<rect class="heat-cell {heat}" x="{_n(x)}" y="{_n(y)}" width="{_n(cell_width)}"'
                f' height="{_n(cell_height)}" fill="#eef2f8" stroke="#fff" stroke-width="2"/>'
                f'<text class="heat-label{dark}" x="{_n(x + cell_width / 2)}"'
                f' y="{_n(y + cell_height / 2 + FONT * 0.35)}" font-size="{FONT}"'
                f' text-anchor="middle">{_esc(shown)}</text>'
            )
            href = link(r, c)
            if href:
                parts.append(f'<a class="heat-link" href="{_esc(href)}">{body}</a>')
            else:
                parts.append(f'<g class="heat">{body}</g>')
    parts.append("</g>")
    return _close(parts)
